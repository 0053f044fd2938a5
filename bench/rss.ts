import { readFileSync } from 'node:fs';

/** Resident memory of another process, sampled from /proc while it is under load; `stop()` gives the peak in MB. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): number } {
  let peakKb = 0;
  const sample = (): void => {
    try {
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peakKb = Math.max(peakKb, kb);
    } catch {
      // The process has ended (or this is not Linux): the peak so far stands.
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peakKb / 1024;
    },
  };
}
