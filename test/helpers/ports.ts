// Loopback ports for servers under test. The kernel picks a free one, the probe closes it, and the server
// binds it: in that window another process (a parallel test, or an outgoing connection given that port)
// can take it. Helpers that choose ports themselves start again on fresh ones when that happens
// (`retryOnAddressInUse`); a port the test chose and passed on is kept.
import { createServer } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(host));
  return [...ports];
}

/** A port that is free on every one of `hosts`, so that servers on several addresses (the MXs of a test) share it. */
export async function portFreeOnAll(hosts: string[]): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = await freePort(hosts[0]);
    const others = await Promise.all(hosts.slice(1).map((host) => portIsFree(port, host)));
    if (others.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

/** Whether nothing listens on host:port (a listen there would succeed now). */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Whether an error (a failed start, with the server's output in its message) says the port was taken. */
export function isAddressInUse(err: unknown): boolean {
  return /EADDRINUSE|address already in use/i.test(err instanceof Error ? err.message : String(err));
}

/**
 * `start(attempt)` until it does not fail for a port taken in the meantime, at most `tries` times; each
 * attempt must choose fresh ports. Any other failure, or the last one, is thrown.
 */
export async function retryOnAddressInUse<T>(start: (attempt: number) => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(attempt);
    } catch (err) {
      if (attempt >= tries || !isAddressInUse(err)) throw err;
    }
  }
}
