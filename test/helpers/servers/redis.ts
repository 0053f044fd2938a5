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

/**
 * A redis-server of the caller's own, for tests that take Redis away and bring it back: `takeDown()`
 * kills it (SIGKILL, as a crash: clients are not told), `bringBack()` starts it again on the same port (empty, as a Redis without persistence
 * comes back).
 * `null` when redis-server is not installed.
 */
export async function startOwnRedis(): Promise<
  (TestRedis & { takeDown(): Promise<void>; bringBack(): Promise<void> }) | null
> {
  const binary = findExecutable('redis-server');
  if (binary === null) return null;
  const dir = mkdtempSync(join(tmpdir(), 'koppel-redis-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const unregisterDir = onProcessExit(removeDir);
  try {
    return await withFreshPort(async (port) => {
      let running = await spawnRedis(binary, port, dir);
      return {
        url: `redis://127.0.0.1:${port}`,
        host: '127.0.0.1',
        port,
        async takeDown() {
          await running.stop('SIGKILL');
        },
        async bringBack() {
          running = await spawnRedis(binary, port, dir);
        },
        async stop() {
          await running.stop();
          unregisterDir();
          removeDir();
        },
      };
    });
  } catch (error) {
    unregisterDir();
    removeDir();
    throw error;
  }
}

async function start(): Promise<TestRedis | null> {
  const own = await startOwnRedis();
  if (own === null) return null;
  return {
    url: own.url,
    host: own.host,
    port: own.port,
    async stop() {
      shared.forget();
      await own.stop();
    },
  };
}

/** redis-server on `port`, without persistence, answering PING; killed at process exit at the latest. */
async function spawnRedis(
  binary: string,
  port: number,
  dir: string,
): Promise<{ stop(signal?: NodeJS.Signals): Promise<void> }> {
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
  const unregister = onProcessExit(() => server.child.kill('SIGKILL'));
  await waitUntilReady(server, 'redis-server', () => ping(port)).catch((error: unknown) => {
    unregister();
    throw error;
  });
  return {
    async stop(signal = 'SIGTERM') {
      server.child.kill(signal);
      await server.exited;
      unregister();
    },
  };
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
