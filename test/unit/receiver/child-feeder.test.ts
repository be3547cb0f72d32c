/**
 * ChildFeeder with an injected fake child: the buffer policies, restarts and end of stream,
 * without processes.
 */
import { describe, expect, it } from 'vitest';

import { ChildFeeder, type ChildExit, type FeedableChild, type SlowChildPolicy } from '../../../src/receiver/child-feeder.js';
import { emptyTransportStats } from '../../../src/transport/stats.js';

class FakeChild implements FeedableChild {
  readonly kind = 'shm' as const;
  readonly pid = 1;
  received: Buffer[] = [];
  /** While set, writes wait until release() (a full transport). */
  gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private exit!: (e: ChildExit) => void;
  readonly exited = new Promise<ChildExit>((r) => (this.exit = r));
  ended = false;
  get writable(): boolean {
    return !this.gate;
  }
  hold(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }
  release(): void {
    this.gate = undefined;
    this.openGate?.();
  }
  async writeBatch(payloads: Buffer[]): Promise<void> {
    if (this.gate) await this.gate;
    this.received.push(...payloads);
  }
  async end(): Promise<void> {
    this.ended = true;
    this.exit({ code: 0, signal: null });
  }
  async close(): Promise<void> {
    this.exit({ code: null, signal: 'SIGKILL' });
  }
  die(): void {
    this.exit({ code: null, signal: 'SIGKILL' });
  }
}

function make(policy: SlowChildPolicy, maxBufferBytes: number, maxRestarts = 2, healthyRunMs?: number) {
  const children: FakeChild[] = [];
  const stats = emptyTransportStats('shm');
  const pauses: boolean[] = [];
  const logs: string[] = [];
  const feeder = new ChildFeeder({
    kind: 'shm',
    start: async () => {
      const c = new FakeChild();
      children.push(c);
      return c;
    },
    handOff: stats,
    child: stats,
    maxBufferBytes,
    policy,
    maxRestarts,
    ...(healthyRunMs !== undefined ? { healthyRunMs } : {}),
    backpressure: (p) => pauses.push(p),
    log: (m) => logs.push(m),
  });
  return { feeder, children, stats, pauses, logs };
}

const chunk = (i: number, n = 100): Buffer => Buffer.alloc(n, i & 0xff);
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ChildFeeder', () => {
  it('hands everything over in order when the child keeps up, and ends it at end of stream', async () => {
    const { feeder, children, stats } = make('drop-oldest', 10_000);
    await feeder.start();
    for (let i = 0; i < 50; i++) feeder.deliver(chunk(i), {});
    const exit = await feeder.endOfStream();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(children[0]!.received.map((b) => b[0])).toEqual([...Array(50).keys()]);
    expect(children[0]!.ended).toBe(true);
    expect(stats).toMatchObject({ chunksHandedOff: 50, bytesHandedOff: 5000, bufferBytes: 0, bufferDepth: 0, droppedSlowChild: 0 });
  });

  it('drop-oldest: a stuck child costs at most the buffer, the oldest chunks are dropped and counted', async () => {
    const { feeder, children, stats } = make('drop-oldest', 1000);
    await feeder.start();
    children[0]!.hold();
    for (let i = 0; i < 200; i++) feeder.deliver(chunk(i), {});
    expect(stats.bufferBytes).toBeLessThanOrEqual(1000);
    // The first chunk went into the (stuck) transport; 10 fit the buffer; the rest were dropped.
    expect(stats.droppedSlowChild).toBe(200 - 1 - 10);
    children[0]!.release();
    await feeder.endOfStream();
    expect(children[0]!.received.map((b) => b[0])).toEqual([0, ...Array.from({ length: 10 }, (_, k) => 190 + k)]);
  });

  it('drop-oldest: a child stuck in one write for a long stream keeps the queue itself bounded', async () => {
    const { feeder, children, stats } = make('drop-oldest', 1000);
    await feeder.start();
    children[0]!.hold();
    for (let i = 0; i < 100_000; i++) feeder.deliver(chunk(i), {});
    const queue = (feeder as unknown as { queue: unknown[] }).queue;
    expect(queue.length).toBeLessThan(3000);
    expect(stats.bufferDepth).toBe(10);
    await feeder.close();
  });

  it('block: pauses the input when full and resumes once half empty, dropping nothing', async () => {
    const { feeder, children, stats, pauses } = make('block', 1000);
    await feeder.start();
    children[0]!.hold();
    for (let i = 0; i < 30; i++) feeder.deliver(chunk(i), {});
    expect(pauses).toEqual([true]);
    children[0]!.release();
    await feeder.endOfStream();
    expect(pauses).toEqual([true, false]);
    expect(stats.droppedSlowChild).toBe(0);
    expect(children[0]!.received).toHaveLength(30);
  });

  it('restarts a child that dies mid-stream, up to the limit, then gives up', async () => {
    const { feeder, children, stats, logs } = make('drop-oldest', 10_000, 1);
    await feeder.start();
    children[0]!.die();
    await tick(300); // first restart after 200 ms
    expect(children).toHaveLength(2);
    expect(stats.restarts).toBe(1);
    feeder.deliver(chunk(7), {});
    await tick();
    expect(children[1]!.received).toHaveLength(1);
    children[1]!.die();
    await tick(50);
    expect(feeder.hasFailed).toBe(true);
    expect(logs.at(-1)).toMatch(/restart limit \(1\) reached/);
  });

  it('a child that ran healthyRunMs before it died starts the restart count over', async () => {
    const { feeder, children, stats } = make('drop-oldest', 10_000, 1, 200);
    const nth = async (n: number): Promise<FakeChild> => {
      for (let i = 0; i < 200 && children.length < n; i++) await tick(10);
      return children[n - 1]!;
    };
    await feeder.start();
    await tick(250);
    (await nth(1)).die(); // ran 250 ms: recovered, so this restart is the first in a row
    const second = await nth(2);
    await tick(250);
    second.die(); // ran 250 ms again: without the reset the limit (1) would be reached
    const third = await nth(3);
    expect(stats.restarts).toBe(2);
    expect(feeder.hasFailed).toBe(false);
    third.die(); // at once: the second restart in a row, over the limit
    await tick(50);
    expect(feeder.hasFailed).toBe(true);
    await feeder.close();
  });
});
