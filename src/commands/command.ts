import type { OptionSpec, Parsed } from '../shared/args.js';
import { UsageError, type ExitCode } from '../shared/errors.js';
import { parseEndpoint, type Endpoint } from '../shared/url.js';

/** One subcommand: its help text, its flags, and the library call it makes. */
export interface Command {
  name: string;
  summary: string;
  /** The full --help text (synopsis, options, examples). */
  usage: string;
  options: OptionSpec;
  run(args: Parsed): Promise<ExitCode>;
}


/** The single URL positional of recv and guide, parsed (UsageError if missing, extra or malformed). */
export function endpointArgument(command: string, positionals: string[]): Endpoint {
  if (positionals.length === 0) throw new UsageError(`${command}: missing URL (see 'ipcast ${command} --help')`, 'ERR_BAD_ARGUMENT');
  if (positionals.length > 1) {
    throw new UsageError(`${command}: expected one URL, got ${positionals.length}: ${positionals.join(' ')}`, 'ERR_BAD_ARGUMENT');
  }
  return parseEndpoint(positionals[0]!, 'recv');
}
