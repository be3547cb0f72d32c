/**
 * Ports and connections for end-to-end tests. The CLI itself is spawned by ./cli.ts.
 */
import dgram from 'node:dgram';
import net from 'node:net';

/** A port that was free a moment ago (UDP or TCP). */
export async function freePort(kind: 'udp' | 'tcp' = 'udp'): Promise<number> {
  if (kind === 'tcp') {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    return port;
  }
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}


/** Connects to 127.0.0.1:port, retrying every 50 ms while nothing listens yet (bounded). */
export async function connectWhenListening(port: number, timeoutMs = 10_000): Promise<net.Socket> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const sock = net.connect(port, '127.0.0.1');
    const err = await new Promise<Error | undefined>((resolve) => {
      sock.once('connect', () => resolve(undefined));
      sock.once('error', resolve);
    });
    if (!err) return sock;
    sock.destroy();
    if (Date.now() > end) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms: ${err.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
