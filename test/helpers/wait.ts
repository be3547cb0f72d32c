/** Polls `cond` every `stepMs` until it holds (true) or `timeoutMs` pass (false). Bounded. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}
