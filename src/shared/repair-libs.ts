/**
 * libsrt and librist are optional: the addon opens them with dlopen the first time an srt://
 * or rist:// URL is used (native/repair/). Without them ipcast runs as before; such a URL then
 * ends the run with one line naming the Debian package to install (exit 2).
 * IPCAST_LIBSRT / IPCAST_LIBRIST name the library file to open instead (tests force a missing one).
 */
import { UsageError } from './errors.js';
import { loadNative, type NativeBinding } from './native.js';
import { settings } from './settings.js';

const PACKAGES = {
  srt: { lib: 'libsrt', deb: 'libsrt1.5-openssl' },
  rist: { lib: 'librist', deb: 'librist4' },
} as const;

const loaded = new Map<'srt' | 'rist', string>();

/** The addon with libsrt (or librist) open, and the library's version. Throws UsageError when it cannot be opened. */
export function loadRepairLibrary(which: 'srt' | 'rist'): { native: NativeBinding; version: string } {
  const native = loadNative();
  const have = loaded.get(which);
  if (have !== undefined) return { native, version: have };
  const p = PACKAGES[which];
  const name = which === 'srt' ? settings().libsrt : settings().librist;
  const r = which === 'srt' ? native.srtLoad(name) : native.ristLoad(name);
  if (!r.ok) {
    throw new UsageError(
      `${which}:// needs ${p.lib}, which cannot be opened (${firstLine(r.error ?? '')}): install the Debian package ${p.deb} (apt-get install ${p.deb})`,
      which === 'srt' ? 'ERR_NO_LIBSRT' : 'ERR_NO_LIBRIST',
    );
  }
  loaded.set(which, r.version ?? '');
  return { native, version: r.version ?? '' };
}

function firstLine(s: string): string {
  const t = s.split('\n')[0]!;
  return t.length > 160 ? `${t.slice(0, 157)}...` : t;
}
