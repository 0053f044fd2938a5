import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Moves SQLite's WAL checkpoints off the event loop. A checkpoint copies the WAL's pages into the
 * database file and syncs it; run by the committing connection (SQLite's default) it stalls every
 * request waiting on that commit. A worker thread with its own connection runs PASSIVE checkpoints,
 * which never block writers. The main connection keeps a large autocheckpoint as a safety net, so
 * the WAL stays bounded even if the worker stops.
 */
export interface BackgroundCheckpoint {
  stop(): Promise<void>;
}

// CommonJS, because an `eval` worker runs as a script; the driver's path comes from the main thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (error) { parentPort.postMessage({ error: String(error) }); }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } finally { db.close(); parentPort.postMessage({ stopped: true }); }
});
`;

export function startBackgroundCheckpoint(
  file: string,
  everyMs: number,
  onError: (message: string) => void,
): BackgroundCheckpoint {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    // Plain CommonJS: none of the parent's loader flags (tsx, --input-type=module) apply to it.
    execArgv: [],
    workerData: { file, driver, everyMs },
  });
  worker.unref();
  worker.on('message', (message: { error?: string }) => {
    if (message.error) onError(message.error);
  });
  worker.on('error', (error) => onError(error.message));
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        worker.once('exit', () => resolve());
        worker.once('message', () => void worker.terminate());
        worker.postMessage('stop');
      }),
  };
}
