import type { OptionSpec, Parsed } from '../shared/args.js';
import { UsageError, type ExitCode } from '../shared/errors.js';

/** One subcommand: its help text, its flags, and the library call it makes. */
export interface Command {
  name: string;
  summary: string;
  /** The full --help text (synopsis, options, examples). */
  usage: string;
  options: OptionSpec;
  run(args: Parsed): Promise<ExitCode>;
}

/** For a subcommand whose issue has not landed: says so in one line and exits 2. */
export function notBuilt(name: string, issue: string): never {
  throw new UsageError(`${name}: not built yet (${issue})`, 'ERR_NOT_BUILT');
}
