/**
 * Connects to a sender's TCP server and keeps connecting: when the sender goes away or
 * restarts, reconnects with exponential backoff (100 ms doubling to 5 s, reset by a
 * connection that delivered data).
 */
import net from 'node:net';

import { describeSystemError } from '../../shared/errors.js';
import type { TcpEndpoint } from '../../shared/url.js';

export interface TcpInputHandlers {
  /** A new connection is up: the byte stream starts over (a fresh framer). */
  connected(): void;
  data(buf: Buffer): void;
  /** The connection ended; `willRetry` tells whether a reconnect is scheduled. */
  disconnected(reason: string): void;
  warning(message: string): void;
}

export interface TcpInput {
  /** Stop reading (backpressure) and go on. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 5000;

export function openTcpInput(ep: TcpEndpoint, handlers: TcpInputHandlers): TcpInput {
  let socket: net.Socket | undefined;
  let closed = false;
  let paused = false;
  let backoff = BACKOFF_START_MS;
  let timer: NodeJS.Timeout | undefined;
  let lastError = '';

  const connect = (): void => {
    timer = undefined;
    if (closed) return;
    const s = net.connect({ host: ep.host, port: ep.port });
    socket = s;
    let gotData = false;
    s.setNoDelay(true);
    s.on('connect', () => {
      lastError = '';
      handlers.connected();
      if (paused) s.pause();
    });
    s.on('data', (buf) => {
      if (!gotData) {
        gotData = true;
        backoff = BACKOFF_START_MS;
      }
      handlers.data(buf);
    });
    s.on('error', (err) => {
      const text = describeSystemError(err);
      // Say a repeated failure once, not at every retry.
      if (text !== lastError) handlers.warning(`tcp ${ep.host}:${ep.port}: ${text}; retrying`);
      lastError = text;
    });
    s.on('close', () => {
      if (socket === s) socket = undefined;
      if (closed) return;
      handlers.disconnected(gotData ? 'sender closed the connection' : 'no connection');
      timer = setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    });
  };
  connect();

  return {
    pause: () => {
      paused = true;
      socket?.pause();
    },
    resume: () => {
      paused = false;
      socket?.resume();
    },
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      if (socket) {
        const s = socket;
        await new Promise<void>((resolve) => {
          s.once('close', () => resolve());
          s.destroy();
        });
      }
    },
  };
}
