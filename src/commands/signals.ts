/**
 * The commands' SIGINT/SIGTERM: the library stops on an AbortSignal or a stop() call and never
 * installs a handler itself. `once`: the handler goes after the first signal, so a second
 * Ctrl-C ends the process the default way.
 */
export function onStopSignals(handler: (signal: NodeJS.Signals) => void, opts: { once: boolean }): () => void {
  const add = opts.once ? process.once.bind(process) : process.on.bind(process);
  add('SIGINT', handler);
  add('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** An AbortController aborted by the first SIGINT or SIGTERM, which `log` names. */
export function abortOnStopSignals(log: (message: string) => void): { signal: AbortSignal; dispose(): void } {
  const stop = new AbortController();
  const dispose = onStopSignals((sig) => {
    log(`${sig}: stopping`);
    stop.abort();
  }, { once: true });
  return { signal: stop.signal, dispose };
}
