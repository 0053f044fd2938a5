import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * Shared plumbing for the system-server test helpers (postgres.ts, redis.ts, sshd.ts): each one runs
 * its server as a child of the test process on a free loopback port, waits until it answers, and
 * registers a synchronous clean-up so nothing outlives the test run, however mocha ends.
 */

/** The absolute path of `name` on PATH (or /usr/sbin, /sbin, which a non-login root shell may lack), or null. */
export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A port free on 127.0.0.1 when asked; another process may take it before the server binds, so starters retry. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const exitCleanups = new Set<() => void>();
let exitListenerInstalled = false;

/**
 * Runs `cleanup` synchronously when the process exits (mocha `--exit` calls process.exit; a
 * SIGINT/SIGTERM without other listeners is turned into an exit). Returns the unregister function
 * for a server stopped earlier.
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (!exitListenerInstalled) {
    exitListenerInstalled = true;
    process.on('exit', () => {
      for (const fn of exitCleanups) {
        try {
          fn();
        } catch {
          // The process is ending; one failed clean-up must not prevent the others.
        }
      }
    });
    for (const [signal, code] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      if (process.listenerCount(signal) === 0) process.once(signal, () => process.exit(code));
    }
  }
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

export interface ServerChild {
  readonly child: ChildProcess;
  /** Resolves when the child has exited (with its exit code, or null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** The last lines the server wrote to its log, for error messages. */
  logTail(): string;
}

/** Starts a long-running server with stdout and stderr going to `logFile`. */
export function spawnServer(
  command: string,
  args: readonly string[],
  options: { logFile: string; cwd?: string; uid?: number; gid?: number },
): ServerChild {
  const log = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      stdio: ['ignore', log, log],
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', () => resolve(-1));
    });
    return { child, exited, logTail: () => tail(options.logFile) };
  } finally {
    closeSync(log);
  }
}

/** Runs a command to completion, rejecting with its output when it does not exit 0. */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { cwd?: string; uid?: number; gid?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`)),
    );
  });
}

/**
 * Polls `probe` until it answers true. Rejects when the server exits first (a port taken in
 * between is the usual cause; the caller retries on a new port) or after `limitMs`, the server
 * then killed and gone.
 */
export async function waitUntilReady(
  server: ServerChild,
  what: string,
  probe: () => Promise<boolean>,
  limitMs = 30_000,
): Promise<void> {
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  const deadline = Date.now() + limitMs;
  try {
    for (;;) {
      if (exitCode !== undefined)
        throw new ServerExitedError(`${what} exited (${exitCode}) while starting:\n${server.logTail()}`);
      if (await probe().catch(() => false)) return;
      if (Date.now() > deadline)
        throw new Error(`${what} did not answer within ${limitMs} ms:\n${server.logTail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    server.child.kill('SIGKILL');
    await server.exited;
    throw error;
  }
}

/** The server process ended during start-up; starting again on another port usually helps. */
export class ServerExitedError extends Error {}

/** Calls `start` with a fresh free port, again when the server died at start-up (port race). */
export async function withFreshPort<T>(start: (port: number) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freeLoopbackPort());
    } catch (error) {
      if (!(error instanceof ServerExitedError) || attempt >= attempts) throw error;
    }
  }
}

/** Blocks the thread: only for clean-up inside a process 'exit' listener, where nothing asynchronous runs. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * One server per test process, started by the first suite that asks and shared by the rest. A
 * start that fails is forgotten, so the next suite tries again; `forget()` after a stop does the same.
 */
export function sharedServer<T>(start: () => Promise<T | null>): {
  get(): Promise<T | null>;
  forget(): void;
} {
  let running: Promise<T | null> | undefined;
  return {
    get() {
      running ??= start().catch((error: unknown) => {
        running = undefined;
        throw error;
      });
      return running;
    },
    forget() {
      running = undefined;
    },
  };
}
