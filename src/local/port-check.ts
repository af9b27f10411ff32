/** Small network helpers for the local host: is a port free, does something answer there. */
import net from 'node:net';

/** A port the local host needs is taken; the message says which and how to free or change it. */
export class PortInUseError extends Error {
  constructor(
    readonly part: string,
    readonly port: number,
    readonly setting: string,
    /** The port is the one this data folder's host had before (recorded), not one set in the configuration. */
    readonly recorded = false,
  ) {
    super(
      recorded
        ? `${part}: port ${port} on 127.0.0.1, the one it had when this data folder last ran, is already in use. Stop whatever listens there, or set ${setting} to another port.`
        : `${part}: port ${port} on 127.0.0.1 is already in use. Stop whatever listens there, or set ${setting} to a free port.`,
    );
    this.name = 'PortInUseError';
  }
}

/** Resolves true when nothing listens on 127.0.0.1:port. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Resolves true when a TCP connection to 127.0.0.1:port succeeds within `timeoutMs`. */
export function answers(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls until `port` answers, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answers(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not start listening on 127.0.0.1:${port} within ${timeoutMs} ms.`);
}

/** Polls until nothing listens on `port` (a killed process may hold it briefly); false after `timeoutMs`. */
export async function waitForPortFree(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isPortFree(port)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}
