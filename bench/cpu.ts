import { readdirSync, readFileSync } from 'node:fs';

/** CPU time a process has used, in nanoseconds: all its threads (GC helpers, SQLite's checkpoint) and its main thread alone. */
export interface CpuTime {
  readonly allNs: number;
  readonly mainNs: number;
}

/**
 * From `/proc/<pid>/task/<tid>/schedstat` (time on the CPU, ns); `undefined` where /proc cannot tell (not
 * Linux, or the process has ended). A thread that ends between two readings takes its time with it, so
 * compare readings of long-lived processes only. Throughput on a shared 2-core machine moves by ±10 % between
 * runs; the CPU a delivery costs the gateway moves far less, so changes of a few per cent show in it first.
 */
export function cpuTime(pid: number): CpuTime | undefined {
  try {
    let allNs = 0;
    let mainNs = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      allNs += ns;
      if (tid === String(pid)) mainNs = ns;
    }
    return { allNs, mainNs };
  } catch {
    return undefined;
  }
}

/** Microseconds of CPU per unit of work: all threads, and the main thread. */
export interface CpuPerUnit {
  readonly allUs: number;
  readonly mainUs: number;
}

/** CPU per unit of work between two readings, or `undefined` when either is missing. */
export function cpuPerUnit(
  before: CpuTime | undefined,
  after: CpuTime | undefined,
  units: number,
): CpuPerUnit | undefined {
  if (before === undefined || after === undefined || units <= 0) return undefined;
  return {
    allUs: (after.allNs - before.allNs) / 1000 / units,
    mainUs: (after.mainNs - before.mainNs) / 1000 / units,
  };
}
