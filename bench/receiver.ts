/**
 * The partner of the end-to-end scenarios: a loopback receiver in its own process that answers 200
 * at once, counts what arrives and, when asked, the arrival time of each Koppel message id.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveParent } from './child.ts';

export interface ReceiverStats {
  readonly count: number;
  /** Epoch ms of the first and the latest request since the last reset (0 when none). */
  readonly firstAt: number;
  readonly lastAt: number;
}

let count = 0;
let firstAt = 0;
let lastAt = 0;
let recording = false;
let arrivals: Array<[string, number]> = [];

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    const at = Date.now();
    if (count++ === 0) firstAt = at;
    lastAt = at;
    if (recording) arrivals.push([String(request.headers['x-koppel-message-id']), at]);
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    response.end('ok');
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

let closed: Promise<void> | undefined;
serveParent(
  { url: `http://127.0.0.1:${port}/hook` },
  {
    stats: (): ReceiverStats => ({ count, firstAt, lastAt }),
    /** Zeroes the counters; `record` keeps each message id's arrival time until the next reset. */
    reset: (args) => {
      count = 0;
      firstAt = 0;
      lastAt = 0;
      recording = (args as { record?: boolean } | undefined)?.record === true;
      arrivals = [];
      return null;
    },
    arrivals: () => arrivals,
  },
  () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  },
);
