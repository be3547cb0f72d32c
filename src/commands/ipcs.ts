import type { Leftover } from '../transport/leftovers.js';
import type { Command } from './command.js';

export const ipcsCommand: Command = {
  name: 'ipcs',
  summary: 'list (or --clean) System V objects left by ipcast runs',
  usage: `Usage: ipcast ipcs [--clean] [--json]

Lists the shared-memory segments, semaphore arrays and message queues that ipcast
created: those named in the registry files of running or past transports
($TMPDIR/ipcast-ipc-<uid>/), and shm segments carrying the ipcast ring magic.
OWNER is the process that created them; "gone" means it no longer runs.

Options:
  --clean      remove the objects whose owner is gone (and stale registry files)
  --json       print the list (or what --clean did) as JSON
  -h, --help   this text`,
  options: { clean: { type: 'boolean' }, json: { type: 'boolean' } },
  run: async (args) => {
    const { cleanLeftovers, scanLeftovers } = await import('../transport/leftovers.js');
    const scan = scanLeftovers();
    if (args.values.clean) {
      const res = cleanLeftovers(scan);
      if (args.values.json) {
        process.stdout.write(JSON.stringify(res, null, 2) + '\n');
        return 0;
      }
      for (const l of res.removed) process.stdout.write(`removed ${l.kind} ${l.id} (owner ${l.ownerPid} gone)\n`);
      for (const f of res.failed) process.stdout.write(`could not remove ${f.leftover.kind} ${f.leftover.id}: errno ${f.errno}\n`);
      for (const l of res.kept) process.stdout.write(`kept ${l.kind} ${l.id} (owner ${l.ownerPid} still running)\n`);
      if (res.removed.length + res.failed.length + res.kept.length === 0) process.stdout.write('no ipcast System V objects\n');
      return 0;
    }
    if (args.values.json) {
      process.stdout.write(JSON.stringify(scan.objects, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(formatTable(scan.objects) + '\n');
    return 0;
  },
};

function formatTable(objects: Leftover[]): string {
  if (objects.length === 0) return 'no ipcast System V objects';
  const rows = [['KIND', 'ID', 'OWNER', 'STATE', 'DETAIL']];
  for (const o of objects) rows.push([o.kind, String(o.id), String(o.ownerPid), o.ownerAlive ? 'running' : 'gone', o.detail]);
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')).join('\n');
}
