import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly text: string;
}

export type Responder = (
  request: ReceivedRequest,
) =>
  | { status: number; headers?: Record<string, string>; body?: string }
  | Promise<{ status: number; headers?: Record<string, string>; body?: string }>;

/**
 * A switchable HTTP receiver on 127.0.0.1 (Svix's TestReceiver): it records every request, answers
 * what the test says, and can go down and come back on the same port ("partner down, then back").
 */
export interface HttpPartner {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedRequest[];
  /** Answer every request with this (default 200 `ok`). */
  respondWith(responder: Responder | number): void;
  /** Answer only the next request with this, then fall back. */
  respondOnceWith(responder: Responder | number): void;
  down(): Promise<void>;
  up(): Promise<void>;
  openConnections(): number;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  stop(): Promise<void>;
}

export async function startHttpPartner(path = '/hook'): Promise<HttpPartner> {
  const received: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let responder: Responder = () => ({ status: 200, body: 'ok' });
  const once: Responder[] = [];
  const waiters: Array<() => void> = [];
  const asResponder = (r: Responder | number): Responder =>
    typeof r === 'number' ? () => ({ status: r, body: `status ${r}` }) : r;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const request: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        text: body.toString('utf8'),
      };
      received.push(request);
      for (const wake of waiters.splice(0)) wake();
      Promise.resolve((once.shift() ?? responder)(request)).then(
        (answer) => {
          res.writeHead(answer.status, answer.headers ?? { 'content-type': 'text/plain' });
          res.end(answer.body ?? '');
        },
        () => res.destroy(),
      );
    });
  };

  let server: Server = createServer(handle);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const track = () =>
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  track();
  const port = await listen(0);
  let running = true;

  const close = async (): Promise<void> => {
    if (!running) return;
    running = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    respondWith(r) {
      responder = asResponder(r);
    },
    respondOnceWith(r) {
      once.push(asResponder(r));
    },
    down: close,
    async up() {
      if (running) return;
      server = createServer(handle);
      track();
      await listen(port);
      running = true;
    },
    openConnections: () => sockets.size,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} requests, got ${received.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50).unref();
        });
      }
      return received;
    },
    stop: close,
  };
}
