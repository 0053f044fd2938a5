import { existsSync } from 'node:fs';
import { fmt, type Row } from './report.ts';

/**
 * Benches of the adapters, added to the table when their file exists. Each compares the adapter
 * with the bare protocol call it wraps, measured in the same run. Extend this list for a new
 * adapter bench: a module under bench/ and the function that turns its result into rows.
 */
export interface ExtraBench {
  readonly name: string;
  /** Relative to bench/. */
  readonly module: string;
  run(module: Record<string, unknown>): Promise<Row[]>;
}

type Bench = (n?: number) => Promise<Record<string, number>>;

/** A bench function returning `{ <figure>PerSec, <baseline>PerSec, n }` as one row. */
function comparison(options: {
  readonly name: string;
  readonly fn: string;
  readonly n: number;
  readonly scenario: string;
  readonly figure: string;
  readonly baseline: string;
  readonly baselineLabel: string;
  readonly unit: string;
}): ExtraBench['run'] {
  return async (module) => {
    const fn = module[options.fn];
    if (typeof fn !== 'function') throw new Error(`${options.name} exports no ${options.fn}`);
    const result = await (fn as Bench)(options.n);
    const figure = result[options.figure] ?? Number.NaN;
    const baseline = result[options.baseline] ?? Number.NaN;
    return [
      {
        section: `adapter ${options.name}`,
        scenario: `${options.scenario} (n=${result.n ?? options.n})`,
        figure: fmt.rate(figure, options.unit),
        baseline: `${fmt.rate(baseline, options.unit)} ${options.baselineLabel}`,
        ratio: fmt.ratio(figure, baseline),
        target: '',
        verdict: '',
      },
    ];
  };
}

export const extraBenches: readonly ExtraBench[] = [
  {
    name: 'smtp',
    module: './smtp.ts',
    run: comparison({
      name: 'smtp',
      fn: 'runSmtpBench',
      n: 100,
      scenario: 'pooled TransportPool over STARTTLS + AUTH',
      figure: 'pooledPerSec',
      baseline: 'unpooledPerSec',
      baselineLabel: '(unpooled sendMail)',
      unit: 'mails/s',
    }),
  },
  {
    name: 'lopende-zaken',
    module: './lopende-zaken.ts',
    run: comparison({
      name: 'lopende-zaken',
      fn: 'runLopendeZakenBench',
      n: 500,
      scenario: 'deliverBatch, zakLk01 over mutual TLS',
      figure: 'adapterPerSec',
      baseline: 'bareSoapPerSec',
      baselineLabel: '(bare node-soap)',
      unit: 'status changes/s',
    }),
  },
];

/** Runs every extra bench whose module exists; a failing one becomes an ERROR row, not a failed run. */
export async function runExtraBenches(progress: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  for (const bench of extraBenches) {
    const url = new URL(bench.module, import.meta.url);
    if (!existsSync(url)) {
      progress(`extra bench ${bench.name}: ${bench.module} not present, skipped`);
      continue;
    }
    progress(`extra bench ${bench.name} …`);
    try {
      rows.push(...(await bench.run((await import(url.href)) as Record<string, unknown>)));
    } catch (error) {
      rows.push({
        section: `adapter ${bench.name}`,
        scenario: bench.module,
        figure: String((error as Error).message).slice(0, 120),
        baseline: '',
        ratio: '',
        target: '',
        verdict: 'ERROR',
      });
    }
  }
  return rows;
}
