/**
 * The mapping contract. A mapping is a pure function `(input, context) => Mapped<Out>`:
 * - no I/O, no clock, no configuration look-ups: time, language and keys arrive in `context`;
 * - its input is schema-valid canonical data (ingest validated it);
 * - "cannot be expressed in the partner's format" is a value (`unmappable`), not an exception; the
 *   adapter turns it into `skipped` with rule `unmappable:<reason>`.
 * Each mapping folder proves itself with golden files (`golden/<case>.input.json`, optional
 * `.context.json`, and `.expected.<ext>` or `.unmappable.txt`) run by test/mappings.golden.test.ts
 * through the folder's `golden.ts`.
 */
export type Mapped<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly unmappable: string };

export function mapped<T>(value: T): Mapped<T> {
  return { ok: true, value };
}

export function unmappable(reason: string): { readonly ok: false; readonly unmappable: string } {
  return { ok: false, unmappable: reason };
}

/** How the shared golden runner drives one mapping folder. */
export interface GoldenSpec {
  /** The canonical type of a case's input (validated against its schema first); may depend on the context. */
  inputType(context: unknown): string;
  /** Extension of the expected files: the serialised output is compared byte for byte. */
  readonly extension: 'json' | 'xml' | 'csv' | 'txt';
  /** Runs the mapping and serialises its value with the same serialiser production uses. */
  run(input: unknown, context: unknown): Mapped<string>;
}
