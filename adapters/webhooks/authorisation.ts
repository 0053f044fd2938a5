import type { AccountView } from '../../gateway/adapter-kit/index.ts';

/** The API account a recipient is bound to, as the core shows it to adapters. */
export type BoundAccount = AccountView;

/** The parts of a message the authorisation looks at. */
export interface Subject {
  readonly type: string;
  readonly data: unknown;
}

export type Authorisation = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Where a message type keeps its employer id (a JSON pointer into the event, below `/data/`), or undefined. */
export type EmployerPointer = (type: string) => string | undefined;

/**
 * Whether the recipient's bound account may see the subject of this message. Today the subject is
 * the employer (the only authorisation the core's accounts carry); finer rules (per employee, per
 * case type) belong here and nowhere else, because both plan() and deliver() call this function.
 * Fails closed: a message whose employer cannot be read is for `'*'` accounts only.
 */
export function isAuthorisedForSubject(
  account: BoundAccount | undefined,
  message: Subject,
  employerPointer: EmployerPointer,
): Authorisation {
  if (account === undefined) return { ok: false, reason: 'the bound API account does not exist' };
  if (account.disabled) return { ok: false, reason: `API account ${account.clientId} is disabled` };
  if (account.employers.includes('*')) return { ok: true };
  const employer = employerOf(message, employerPointer);
  if (employer === undefined)
    return {
      ok: false,
      reason: `a ${message.type} names no employer, and account ${account.clientId} is not authorised for all employers`,
    };
  if (account.employers.includes(employer)) return { ok: true };
  return { ok: false, reason: `API account ${account.clientId} is not authorised for employer ${employer}` };
}

export function employerOf(message: Subject, employerPointer: EmployerPointer): string | undefined {
  const pointer = employerPointer(message.type);
  if (pointer === undefined) return undefined;
  const value = readPointer({ data: message.data }, pointer);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** RFC 6901. */
function readPointer(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let current: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, token)) return undefined;
    current = (current as Record<string, unknown>)[token];
  }
  return current;
}
