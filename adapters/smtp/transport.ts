import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { rejected, transient, type Evidence, type Outcome } from '../../gateway/adapter-kit/index.ts';
import type { MailMessage } from '../../mappings/mail/email-request-to-mail.ts';
import type { MailServer } from './servers.ts';

/** What nodemailer puts on its errors; `originalCode` keeps the system or TLS error's own code. */
export interface SmtpError {
  readonly code?: string;
  readonly originalCode?: string;
  readonly responseCode?: number;
  readonly command?: string;
  readonly response?: string;
  readonly message?: string;
}

export interface TransportTuning {
  readonly maxConnections: number;
  readonly maxMessages: number;
  readonly connectionTimeoutMs: number;
  readonly clientName?: string;
}

// A certificate the client cannot verify is a configuration fault (add the CA, fix the name),
// not the network's: retrying would not help.
const CERTIFICATE_CODES = /^(CERT_|ERR_TLS_CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_)/;
const NETWORK_CODES = new Set([
  'ESOCKET',
  'ECONNECTION',
  'ETIMEDOUT',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPROTOCOL',
]);

/**
 * The one place SMTP failures get their meaning (STYLE.md §4):
 * - a refused STARTTLS (the server offers no TLS) is `rejected`, whatever the reply code: the
 *   server is not fit to receive mail from Koppel until it offers TLS;
 * - a certificate or TLS protocol the client cannot accept is `rejected`;
 * - authentication: 5xx `rejected`, 4xx (454 temporary failure) `transient`;
 * - any other reply: 4xx `transient`, 5xx `rejected` with the server's reply;
 * - network failures (connect, reset, timeout, DNS, a dropped TLS handshake) are `transient`;
 * - anything unrecognised is `transient`, so that nothing is lost on a library surprise.
 */
export function classifySmtpError(error: SmtpError, request?: Evidence['request']): Outcome {
  const evidence: Evidence = {
    ...(request === undefined ? {} : { request }),
    response: {
      status: error.responseCode ?? error.originalCode ?? error.code ?? 'error',
      body: error.response ?? error.message ?? '',
    },
  };
  const reply = error.response ?? error.message ?? 'no reply';
  if (error.code === 'ETLS' && error.command === 'STARTTLS' && error.responseCode !== undefined) {
    return rejected(`server offers no TLS: STARTTLS answered ${reply}`, evidence, 'smtp-no-tls');
  }
  if (error.originalCode !== undefined && CERTIFICATE_CODES.test(error.originalCode)) {
    return rejected(`TLS refused: ${error.message ?? error.originalCode}`, evidence, 'smtp-tls-failed');
  }
  if (error.code === 'EAUTH') {
    if (error.responseCode !== undefined && error.responseCode < 500)
      return transient(`authentication deferred: ${reply}`, evidence);
    return rejected(`authentication failed: ${reply}`, evidence, 'smtp-auth-failed');
  }
  if (error.responseCode !== undefined && error.responseCode >= 400 && error.responseCode < 500) {
    return transient(`server deferred: ${reply}`, evidence);
  }
  if (error.responseCode !== undefined && error.responseCode >= 500) {
    return rejected(`server refused: ${reply}`, evidence, `smtp-${error.responseCode}`);
  }
  if (error.code === 'ETLS')
    return transient(`TLS handshake failed: ${error.message ?? 'connection closed'}`, evidence);
  if (error.code !== undefined && NETWORK_CODES.has(error.code)) {
    return transient(`network: ${error.originalCode ?? error.code}: ${error.message ?? ''}`.trim(), evidence);
  }
  if (error.code === 'EMESSAGE' || error.code === 'EENVELOPE') {
    return rejected(
      `message refused before sending: ${error.message ?? error.code}`,
      evidence,
      'smtp-message-invalid',
    );
  }
  return transient(`unclassified SMTP failure: ${error.code ?? ''} ${error.message ?? ''}`.trim(), evidence);
}

/** nodemailer options for one server: TLS always required and the certificate always verified. */
export function transportOptions(
  server: MailServer,
  tuning: TransportTuning,
  pooled: boolean,
): SMTPPool.Options {
  return {
    ...(pooled
      ? {
          pool: true as const,
          maxConnections: tuning.maxConnections,
          maxMessages: tuning.maxMessages,
          maxRequeues: 1,
        }
      : {}),
    host: server.host,
    port: server.port,
    secure: server.security === 'tls',
    requireTLS: server.security === 'starttls',
    ...(server.user === undefined ? {} : { auth: { user: server.user, pass: server.password ?? '' } }),
    tls: {
      // An extra CA is added to the system's, not put in its place, so a private CA never hides the public ones.
      ...(server.caPem === undefined ? {} : { ca: [...rootCertificates, server.caPem] }),
      // SNI carries host names only (RFC 6066); an IP address is still checked against the certificate.
      ...(isIP(server.host) === 0 ? { servername: server.host } : {}),
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
    },
    connectionTimeout: tuning.connectionTimeoutMs,
    greetingTimeout: tuning.connectionTimeoutMs,
    socketTimeout: tuning.connectionTimeoutMs * 4,
    ...(tuning.clientName === undefined ? {} : { name: tuning.clientName }),
    logger: false,
  };
}

export interface SendResult {
  readonly accepted: readonly string[];
  readonly refused: readonly {
    readonly address: string;
    readonly code: number | undefined;
    readonly reply: string;
  }[];
  readonly response: string;
}

/** Sends one mapped message to `envelopeTo` only (the headers keep every recipient). */
export async function sendMessage(
  transporter: Transporter,
  server: MailServer,
  message: MailMessage,
  envelopeTo: readonly string[],
  signal: AbortSignal,
): Promise<{ ok: true; result: SendResult } | { ok: false; error: SmtpError }> {
  const domain = message.from.address.slice(message.from.address.lastIndexOf('@') + 1).toLowerCase();
  const dkim = server.dkim.find((k) => k.domain === domain);
  const options: SendMailOptions = {
    from: message.from,
    to: [...message.to],
    cc: [...message.cc],
    bcc: [...message.bcc],
    subject: message.subject,
    ...(message.text === undefined ? {} : { text: message.text }),
    ...(message.html === undefined ? {} : { html: message.html }),
    messageId: message.messageId,
    headers: { ...message.headers },
    attachments: message.attachments.map((a) => ({ ...a })),
    envelope: { from: message.from.address, to: [...envelopeTo] },
    ...(dkim === undefined
      ? {}
      : { dkim: { domainName: dkim.domain, keySelector: dkim.selector, privateKey: dkim.privateKeyPem } }),
  };
  if (signal.aborted)
    return { ok: false, error: { code: 'ECONNECTION', message: 'attempt aborted before sending' } };
  // nodemailer cannot cancel a send; on abort the attempt ends as a timeout and the send may still
  // complete, which at-least-once delivery allows (the Message-ID stays the same).
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<{ ok: false; error: SmtpError }>((resolve) => {
    onAbort = () =>
      resolve({ ok: false, error: { code: 'ETIMEDOUT', message: 'attempt aborted while sending' } });
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const sent = transporter.sendMail(options).then(
    (info) => {
      const refusedErrors =
        (info as { rejectedErrors?: (SmtpError & { recipient?: string })[] }).rejectedErrors ?? [];
      const result: SendResult = {
        accepted: (info.accepted ?? []).map((a) => addressOf(a).toLowerCase()),
        refused: (info.rejected ?? []).map((a) => {
          const address = addressOf(a).toLowerCase();
          const error = refusedErrors.find((e) => e.recipient?.toLowerCase() === address);
          return {
            address,
            code: error?.responseCode,
            reply: error?.response ?? error?.message ?? 'refused',
          };
        }),
        response: info.response ?? '',
      };
      return { ok: true as const, result };
    },
    (error: unknown) => ({ ok: false as const, error: error as SmtpError }),
  );
  try {
    return await Promise.race([sent, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function addressOf(a: string | { address: string }): string {
  return typeof a === 'string' ? a : a.address;
}

/**
 * One pooled transporter per server and process, rebuilt when the server's row changes, so that
 * a changed password or CA takes effect at the next message.
 */
export class TransportPool {
  private readonly pools = new Map<string, { version: number; transporter: Transporter }>();

  constructor(private readonly tuning: TransportTuning) {}

  get(server: MailServer): Transporter {
    const cached = this.pools.get(server.id);
    if (cached && cached.version === server.version) return cached.transporter;
    cached?.transporter.close();
    const transporter = nodemailer.createTransport(transportOptions(server, this.tuning, true));
    this.pools.set(server.id, { version: server.version, transporter });
    return transporter;
  }

  /** Opens, greets, upgrades to TLS and authenticates on a fresh connection, then closes it. */
  async test(server: MailServer): Promise<{ ok: true } | { ok: false; error: SmtpError }> {
    const transporter = nodemailer.createTransport(transportOptions(server, this.tuning, false));
    try {
      await transporter.verify();
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as SmtpError };
    } finally {
      transporter.close();
    }
  }

  close(): void {
    for (const { transporter } of this.pools.values()) transporter.close();
    this.pools.clear();
  }
}
