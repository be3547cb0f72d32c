/**
 * Cuts a child's output (fd 3 reports, stderr) into lines: '\n' ends one, a '\r' before it is
 * dropped. A line longer than `maxLine` keeps its first `maxLine` characters: a child writing
 * without newlines never grows a buffer.
 */
export class LineSplitter {
  private rest = '';

  constructor(
    private readonly each: (line: string) => void,
    private readonly maxLine: number,
  ) {}

  push(chunk: Buffer | string): void {
    const lines = (this.rest + chunk.toString()).split(/\r?\n/);
    this.rest = lines.pop()!.slice(0, this.maxLine);
    for (const l of lines) this.each(l.slice(0, this.maxLine));
  }

  /** The stream ended: what is left is a line too. */
  end(): void {
    if (this.rest !== '') this.each(this.rest);
    this.rest = '';
  }
}
