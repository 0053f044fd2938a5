/** ECONNREFUSED, ECONNRESET, ETIMEDOUT …: a failure of the network or of a server, not of our code. */
export function isSystemError(error: unknown): boolean {
  return /^E[A-Z]+$/.test(String((error as { code?: unknown } | null)?.code ?? ''));
}
