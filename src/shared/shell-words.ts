/**
 * Splits a command line the way a POSIX shell splits words — single quotes, double quotes,
 * backslash escapes — without running a shell: no expansion, no globbing, no operators.
 * `--exec "ffmpeg -i - -f null -"` becomes an argv for execa.
 */
import { UsageError } from './errors.js';

export function splitShellWords(text: string, what = '--exec'): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 < text.length) word += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`${what}: unterminated ${quote} quote in '${text}'`, 'ERR_BAD_ARGUMENT');
  if (inWord) words.push(word);
  if (words.length === 0) throw new UsageError(`${what}: empty command`, 'ERR_BAD_ARGUMENT');
  return words;
}
