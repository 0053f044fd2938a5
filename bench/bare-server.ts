/**
 * The baseline: a bare node:http server that reads each body and answers 202, in its own process
 * like the gateway, so that "share of the bare server's rate" compares like with like.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveParent } from './child.ts';

const answer = Buffer.from('{}');
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(202, { 'content-type': 'application/json', 'content-length': answer.length });
    response.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

let closed: Promise<void> | undefined;
serveParent({ url: `http://127.0.0.1:${port}` }, {}, () => {
  closed ??= new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return closed;
});
