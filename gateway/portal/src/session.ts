/**
 * The access token lives in this module's memory only: never in storage or cookies, so a reload
 * or a closed tab ends the session, and nothing on disk can be stolen.
 */
export type EndReason = 'signed-out' | 'expired';

interface Session {
  readonly token: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly expiresAt: Date;
}

let current: Session | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<(reason: EndReason | undefined) => void>();

export function session(): Session | undefined {
  return current;
}

export function start(token: string, clientId: string, scope: string, expiresInSeconds: number): void {
  current = {
    token,
    clientId,
    scopes: scope.split(' ').filter(Boolean),
    expiresAt: new Date(Date.now() + expiresInSeconds * 1000),
  };
  clearTimeout(timer);
  timer = setTimeout(() => end('expired'), expiresInSeconds * 1000);
  for (const listener of listeners) listener(undefined);
}

export function end(reason: EndReason): void {
  if (!current) return;
  current = undefined;
  clearTimeout(timer);
  for (const listener of listeners) listener(reason);
}

/** Called with undefined on sign-in and with the reason on sign-out or expiry. */
export function onChange(listener: (reason: EndReason | undefined) => void): void {
  listeners.add(listener);
}
