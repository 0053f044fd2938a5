import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type Responder = (request: Received, response: ServerResponse) => void;

/**
 * A webhook receiver on 127.0.0.1 that records every request. It can be stopped and started
 * again on the same port (partner down, then back) and told how to answer.
 */
export class Receiver {
  readonly received: Received[] = [];
  respond: Responder = (_request, response) => response.writeHead(204).end();
  #server: Server | undefined;
  #port = 0;
  readonly #sockets = new Set<Socket>();
  readonly #waiters: Array<{ count: number; resolve: () => void }> = [];

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  get port(): number {
    return this.#port;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.received.push(request);
        this.respond(request, res);
        for (const waiter of this.#waiters.filter((w) => this.received.length >= w.count)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      });
    });
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Connections a client still holds open (keep-alive included). */
  openConnections(): number {
    return this.#sockets.size;
  }

  /** Resolves once `count` requests in all have arrived. */
  waitFor(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}
