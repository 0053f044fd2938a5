import { cpus, loadavg, totalmem } from 'node:os';
import type { CpuPerUnit } from './cpu.ts';

/** One line of the results table; every figure is measured in the run that prints it. */
export interface Row {
  readonly section: string;
  readonly scenario: string;
  readonly figure: string;
  /** The same-run baseline beside the figure (the bare server, or what an extra bench compares with). */
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly verdict: 'PASS' | 'MISS' | 'SKIP' | 'ERROR' | '';
  /** An absolute target as it would be on this machine, scaled by the bare server's rate, with its verdict. */
  readonly scaled?: string;
}

export const fmt = {
  rate: (perSec: number, unit: string): string => `${Math.round(perSec).toLocaleString('en-US')} ${unit}`,
  ms: (ms: number): string => (Number.isNaN(ms) ? 'n/a' : `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`),
  mb: (mb: number): string => `${mb.toFixed(0)} MB`,
  ratio: (figure: number, baseline: number): string =>
    baseline > 0 ? `${((figure / baseline) * 100).toFixed(1)}%` : 'n/a',
};

export const verdict = (pass: boolean): Row['verdict'] => (pass ? 'PASS' : 'MISS');

/** `; gateway CPU 210 µs each (main thread 175 µs)` after a per-unit figure; nothing when /proc could not tell. */
export function cpuText(cpu: CpuPerUnit | undefined, whose = 'gateway'): string {
  return cpu === undefined
    ? ''
    : `; ${whose} CPU ${cpu.allUs.toFixed(0)} µs each (main thread ${cpu.mainUs.toFixed(0)} µs)`;
}

export function machineLine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${process.platform}`;
}

export const loadLine = (): string =>
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} (1/5/15 min)`;

export function renderTable(rows: readonly Row[]): string {
  const header: Row = {
    section: 'Store',
    scenario: 'Scenario',
    figure: 'Figure',
    baseline: 'Bare server (same run)',
    ratio: 'Ratio',
    target: 'Target',
    verdict: '',
    scaled: "Target at this run's scale",
  };
  const columns: Array<keyof Row> = [
    'section',
    'scenario',
    'figure',
    'baseline',
    'ratio',
    'target',
    'verdict',
    'scaled',
  ];
  const cells = [header, ...rows].map((row) => columns.map((c) => String(row[c] ?? '')));
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head, ...body] = cells;
  return [line(head ?? []), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join(
    '\n',
  );
}
