import { CompiledQuery, type Kysely } from 'kysely';
import type { Dialect } from './db.ts';

/**
 * Multi-row statements for the hot paths (ingest, attempt records), written as SQL text once per
 * shape instead of built by Kysely per call: building a 500-row insert allocated tens of thousands
 * of query nodes per group. Rows are cut into slices whose sizes are powers of two, so that a
 * table has at most log2(max) + 1 statement shapes: every shape is a prepared statement that SQLite
 * keeps in native memory, and with one shape per group size they had grown to hundreds of MB.
 */
export function* powerOfTwoSlices<T>(rows: readonly T[], max = 256): Generator<readonly T[]> {
  let start = 0;
  while (start < rows.length) {
    let size = max;
    while (size > rows.length - start) size >>= 1;
    yield rows.slice(start, start + size);
    start += size;
  }
}

const texts = new Map<string, string>();

/**
 * The text of a statement, built once per key: the same string object comes back, so that the
 * statement cache (keyed by the text) finds it without hashing a new string on every call.
 */
export function statementText(key: string, build: () => string): string {
  let text = texts.get(key);
  if (text === undefined) {
    text = build();
    texts.set(key, text);
  }
  return text;
}

const placeholder = (dialect: Dialect, index: number): string =>
  dialect === 'sqlite' ? '?' : `$${index + 1}`;

/** `(?, ?), (?, ?)` on SQLite, `($1, $2), ($3, $4)` on PostgreSQL: `rows` tuples of `width` parameters. */
export function tuples(dialect: Dialect, rows: number, width: number): string {
  const parts: string[] = [];
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < width; c++) row.push(placeholder(dialect, r * width + c));
    parts.push(`(${row.join(', ')})`);
  }
  return parts.join(', ');
}

/** `?, ?, ?` on SQLite, `$n+1, $n+2, …` after `offset` earlier parameters on PostgreSQL: for `in (…)`. */
export function parameterList(dialect: Dialect, count: number, offset = 0): string {
  return Array.from({ length: count }, (_, i) => placeholder(dialect, offset + i)).join(', ');
}

/**
 * `insert into <table> (<columns>) values (…), …` for `rows` rows, then `tail` (an ON CONFLICT clause),
 * built once per shape.
 */
export function insertStatement(
  dialect: Dialect,
  table: string,
  columns: readonly string[],
  rows: number,
  tail = '',
): string {
  return statementText(
    `insert:${table}:${dialect}:${rows}:${tail}`,
    () =>
      `insert into ${table} (${columns.join(', ')}) values ${tuples(dialect, rows, columns.length)}${tail === '' ? '' : ` ${tail}`}`,
  );
}

/** Inserts the rows in power-of-two slices, each one multi-row statement. */
export async function insertRows<Row>(
  db: Kysely<any>,
  dialect: Dialect,
  table: string,
  columns: readonly (keyof Row & string)[],
  rows: readonly Row[],
): Promise<void> {
  for (const slice of powerOfTwoSlices(rows)) {
    await runStatement(db, insertStatement(dialect, table, columns, slice.length), rowValues(slice, columns));
  }
}

export async function runStatement<R>(
  db: Kysely<any>,
  text: string,
  parameters: readonly unknown[],
): Promise<readonly R[]> {
  const result = await db.executeQuery<R>(CompiledQuery.raw(text, parameters as unknown[]));
  return result.rows;
}

/** A statement that returns no rows: the number of rows it changed. */
export async function runWrite(
  db: Kysely<any>,
  text: string,
  parameters: readonly unknown[],
): Promise<number> {
  const result = await db.executeQuery(CompiledQuery.raw(text, parameters as unknown[]));
  return Number(result.numAffectedRows ?? 0n);
}

/** A table's column list for a bulk statement; the compiler refuses a list that leaves a column out. */
export const allColumns =
  <Row>() =>
  <const List extends readonly (keyof Row & string)[]>(
    list: List &
      (Exclude<keyof Row, List[number]> extends never
        ? unknown
        : { missing: Exclude<keyof Row, List[number]> }),
  ): List =>
    list;

/** The rows' values in column order, as one flat parameter array. */
export function rowValues<Row>(rows: readonly Row[], columns: readonly (keyof Row)[]): unknown[] {
  const values: unknown[] = [];
  for (const row of rows) for (const column of columns) values.push(row[column]);
  return values;
}
