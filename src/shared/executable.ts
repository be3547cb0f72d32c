/** Is `name` (a path, or a program looked up in PATH) a file this process may execute? PATH is the
 *  one variable library code reads: the same the child_process spawns of this process search. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { env } from 'node:process';

export function findExecutable(name: string): boolean {
  const candidates = name.includes('/') ? [name] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  return candidates.some((c) => {
    try {
      accessSync(c, constants.X_OK);
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
}
