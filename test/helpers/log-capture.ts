import { Writable } from 'node:stream';

/** A pino destination that keeps every JSON line it is given, for assertions on what was logged. */
export function captureLog(): {
  readonly destination: Writable;
  readonly lines: string[];
  records(): Array<Record<string, unknown>>;
} {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line.trim() !== ''),
      );
      done();
    },
  });
  return {
    destination,
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
