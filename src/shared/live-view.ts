/**
 * One live block of text at the bottom of a terminal, redrawn in place (`ipcast demo`,
 * `ipcast recv` on a TTY): each draw moves the cursor up over the last one and clears to the
 * end of the screen (ANSI CSI n A, CSI J) before writing the new one. A log line is written
 * above it: the block is erased, the line written, the block drawn again, so the terminal
 * holds one table however many lines come. Not on a TTY (a file, a pipe): nothing is moved;
 * blocks and lines are written one after the other.
 */
export class LiveView {
  private lines = 0;
  private last = '';

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean }) {}

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  /** Replaces the block (on a TTY) or writes it (otherwise). */
  draw(text: string): void {
    this.last = text;
    this.out.write(`${this.erase()}${text}\n`);
    this.lines = text.split('\n').length;
  }

  /** A line above the block. */
  log(line: string): void {
    if (!this.tty || this.lines === 0) return void this.out.write(`${line}\n`);
    this.out.write(`${this.erase()}${line}\n${this.last}\n`);
  }

  /** Leaves the block where it is; later writes go below it. */
  done(): void {
    this.lines = 0;
  }

  private erase(): string {
    return this.tty && this.lines > 0 ? `\x1b[${this.lines}A\x1b[J` : '';
  }
}
