import { fork, type ChildProcess } from 'node:child_process';

/**
 * A bench participant in its own Node process (gateway, bare server, receiver), so that the load
 * generator, the measured server and the receiver never share an event loop. The child sends
 * `{ ready: … }` once it listens and answers `{ call, id }` messages with `{ reply, id }`.
 */
export interface ChildHandle<R> {
  readonly pid: number;
  readonly ready: R;
  call<T>(call: string, args?: unknown): Promise<T>;
  /** Asks the child to close cleanly (a CPU profile is written on a clean exit), then kills it. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface ChildOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly execArgv?: readonly string[];
  readonly startTimeoutMs?: number;
}

/** Variables that would configure the gateway under test from the shell of whoever runs the bench. */
const INHERITED_CONFIG = /^(KOPPEL_.*|DATABASE_URL|REDIS_URL|PORT|HOST)$/;

export async function startChild<R>(script: string, options: ChildOptions = {}): Promise<ChildHandle<R>> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !INHERITED_CONFIG.test(name)) env[name] = value;
  Object.assign(env, options.env);
  const child: ChildProcess = fork(new URL(script, import.meta.url).pathname, [], {
    env,
    // Compiled scripts (the gateway under test) run as `npm start` runs them: without tsx's loader.
    execArgv: [...(script.endsWith('.ts') ? ['--import', 'tsx'] : []), ...(options.execArgv ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  child.on('message', (message: { reply?: unknown; error?: string; id?: number }) => {
    if (message.id === undefined) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.reply);
  });
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} exited`));
    pending.clear();
  });

  const ready = await new Promise<R>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start in time`)),
      options.startTimeoutMs ?? 30_000,
    );
    child.on('message', (message: { ready?: R }) => {
      if (message.ready === undefined) return;
      clearTimeout(timer);
      resolve(message.ready);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${script} exited while starting (code ${child.exitCode})`));
    });
  });

  return {
    pid: child.pid ?? 0,
    ready,
    call<T>(call: string, args?: unknown) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ call, args, id });
      });
    },
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ call: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The child side: announce readiness, answer calls, exit after `stop`. */
export function serveParent(
  ready: unknown,
  calls: Record<string, (args: unknown) => unknown>,
  stop: () => Promise<void>,
): void {
  if (!process.send) throw new Error('run this script through bench/run.ts (it needs an IPC channel)');
  process.on('message', (message: { call: string; args?: unknown; id?: number }) => {
    if (message.call === 'stop') {
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(error);
          process.exit(1);
        },
      );
      return;
    }
    const handler = calls[message.call];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown call ${message.call}`);
        return handler(message.args);
      })
      .then(
        (reply) => process.send?.({ reply, id: message.id }),
        (error: unknown) => process.send?.({ error: String(error), id: message.id }),
      );
  });
  // The parent died without asking: do not linger as an orphan holding a port.
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  process.send({ ready });
}
