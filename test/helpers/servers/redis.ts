import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findExecutable,
  onProcessExit,
  spawnServer,
  waitUntilReady,
  withFreshPort,
  sharedServer,
} from './server-process.ts';

export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops the server and deletes its directory; the next `startRedis()` starts a new one. */
  stop(): Promise<void>;
}

const shared = sharedServer(start);

/**
 * A private redis-server for this test process, shared by every suite that asks (started once,
 * stopped at process exit), without persistence. Suites share it, so each test uses its own key
 * prefix (a unique BullMQ `prefix`) rather than FLUSHALL. `null` when redis-server is not installed.
 */
export function startRedis(): Promise<TestRedis | null> {
  return shared.get();
}

async function start(): Promise<TestRedis | null> {
  const binary = findExecutable('redis-server');
  if (binary === null) return null;
  const dir = mkdtempSync(join(tmpdir(), 'koppel-redis-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    return await withFreshPort(async (port) => {
      const server = spawnServer(
        binary,
        [
          '--bind',
          '127.0.0.1',
          '--port',
          String(port),
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--daemonize',
          'no',
        ],
        { logFile: join(dir, 'redis.log') },
      );
      const unregister = onProcessExit(() => {
        server.child.kill('SIGKILL');
        removeDir();
      });
      try {
        await waitUntilReady(server, 'redis-server', () => ping(port));
      } catch (error) {
        server.child.kill('SIGKILL');
        await server.exited;
        unregister();
        throw error;
      }
      return {
        url: `redis://127.0.0.1:${port}`,
        host: '127.0.0.1',
        port,
        async stop() {
          shared.forget();
          server.child.kill('SIGTERM');
          await server.exited;
          unregister();
          removeDir();
        },
      };
    });
  } catch (error) {
    removeDir();
    throw error;
  }
}

/** A raw RESP PING, so the helper needs no client library. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer.startsWith('+PONG')));
  });
}
