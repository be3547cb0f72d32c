/**
 * The command line: parses arguments and calls the library. Every user error becomes one
 * line on stderr and exit code 2; a runtime failure one line and exit code 1.
 *
 * Each command imports the library it runs (prom-client, execa, ws, the addon) only when it
 * runs, so `ipcast --help`, a command's --help and a usage error start in a fraction of the
 * time (src/commands/*.ts: `await import(...)` inside run).
 */
import { parseCommandLine } from './shared/args.js';
import { IpcastError, type ExitCode } from './shared/errors.js';
import type { Command } from './commands/command.js';
import { benchCommand } from './commands/bench.js';
import { demoCommand } from './commands/demo.js';
import { applyEnvironment } from './commands/environment.js';
import { guideCommand } from './commands/guide.js';
import { ipcsCommand } from './commands/ipcs.js';
import { recvCommand } from './commands/recv.js';
import { relayCommand } from './commands/relay.js';
import { sendCommand } from './commands/send.js';

export const COMMANDS: readonly Command[] = [sendCommand, recvCommand, relayCommand, guideCommand, benchCommand, demoCommand, ipcsCommand];

export function topLevelUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: ipcast <command> [options]',
    '',
    'A streaming media relay: send over UDP multicast/unicast or TCP, receive, and feed a',
    'decoder child through a pipe, a System V shared-memory ring, or a System V message queue.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'ipcast <command> --help' for a command's options.",
    'Exit codes: 0 success, 1 runtime failure, 2 usage error.',
  ].join('\n');
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  try {
    applyEnvironment(env);
    const [name, ...rest] = argv;
    if (name === undefined) {
      process.stderr.write(topLevelUsage() + '\n');
      return 2;
    }
    if (name === '-h' || name === '--help' || name === 'help') {
      process.stdout.write(topLevelUsage() + '\n');
      return 0;
    }
    if (name === '--version' || name === '-V') {
      const { ipcastVersion } = await import('./metrics/registry.js');
      process.stdout.write(`ipcast ${ipcastVersion()}\n`);
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      process.stderr.write(`ipcast: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
      return 2;
    }
    const parsed = parseCommandLine(command.name, rest, command.options);
    if (parsed.values.help) {
      process.stdout.write(command.usage + '\n');
      return 0;
    }
    return await command.run(parsed);
  } catch (err) {
    if (err instanceof IpcastError) {
      process.stderr.write(`ipcast: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`ipcast: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
