import { describe, expect, it } from 'vitest';

import { UsageError } from '../../../src/shared/errors.js';
import { splitShellWords } from '../../../src/shared/shell-words.js';

describe('splitShellWords', () => {
  it.each([
    ['sha256sum', ['sha256sum']],
    ['ffmpeg -i - -f null -', ['ffmpeg', '-i', '-', '-f', 'null', '-']],
    [`sh -c 'echo "a b"; exit 3'`, ['sh', '-c', 'echo "a b"; exit 3']],
    [`printf "%s\\n" x\\ y ""`, ['printf', '%s\\n', 'x y', '']],
    ['  mpg123   -q  - ', ['mpg123', '-q', '-']],
    ['echo $(rm -rf /) `id` ; | &&', ['echo', '$(rm', '-rf', '/)', '`id`', ';', '|', '&&']],
  ])('%s', (text, words) => {
    expect(splitShellWords(text)).toEqual(words);
  });

  it('rejects an unterminated quote and an empty command', () => {
    expect(() => splitShellWords(`echo 'x`)).toThrow(UsageError);
    expect(() => splitShellWords('   ')).toThrow(/empty command/);
  });
});
