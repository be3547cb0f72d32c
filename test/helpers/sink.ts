/** ipcast-sink started by a test, its final report (fd 3) and stderr collected; killed after 10 s. */
import { spawn, type ChildProcess } from 'node:child_process';

import { nativeExecutable } from '../../src/shared/native.js';
import { ReportLineParser, type SinkReport } from '../../src/transport/report.js';

export interface SinkRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  final?: SinkReport;
  stderr: string;
}

export function spawnSink(args: string[], stdin: 'pipe' | 'ignore'): { child: ChildProcess; done: Promise<SinkRun> } {
  const child = spawn(nativeExecutable('ipcast-sink'), args, { stdio: [stdin, 'ignore', 'pipe', 'pipe'] });
  let final: SinkReport | undefined;
  const parser = new ReportLineParser((r) => {
    if (r.type === 'final') final = r;
  });
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => parser.push(d));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const done = new Promise<SinkRun>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, final, stderr });
    });
    // a spawn failure (e.g. the binary being relinked by a build meanwhile) emits no 'close'
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, final, stderr: `${stderr}spawn failed: ${err.message}` });
    });
  });
  return { child, done };
}
