/**
 * Mails per second through one pooled server (the adapter's TransportPool, as deliveries use it,
 * with as many in flight as the pool has connections) against a plain unpooled `sendMail` loop
 * (a new connection, STARTTLS handshake and AUTH per mail), in the same run, against the same
 * loopback smtp-server with STARTTLS and authentication.
 */
import nodemailer from 'nodemailer';
import type { MailServer } from '../adapters/smtp/servers.ts';
import { TransportPool, sendMessage, transportOptions } from '../adapters/smtp/transport.ts';
import type { MailMessage } from '../mappings/mail/email-request-to-mail.ts';
import { makeTestCa } from '../test/helpers/certs.ts';
import { startSmtpPartner } from '../test/helpers/servers/smtp-partner.ts';

export interface SmtpBenchResult {
  readonly pooledPerSec: number;
  readonly unpooledPerSec: number;
  readonly n: number;
}

export async function runSmtpBench(n = 100): Promise<SmtpBenchResult> {
  const ca = makeTestCa();
  const auth = { user: 'bench', pass: 'bench-password' };
  const partner = await startSmtpPartner({
    security: 'starttls',
    keyPem: ca.serverKeyPem,
    certPem: ca.serverCertPem,
    auth,
  });
  const server: MailServer = {
    id: 'bench',
    name: 'bench',
    host: '127.0.0.1',
    port: partner.port,
    security: 'starttls',
    user: auth.user,
    password: auth.pass,
    caPem: ca.caPem,
    dkim: [],
    limits: {},
    archived: false,
    version: 1,
  };
  const tuning = { maxConnections: 3, maxMessages: 1000, connectionTimeoutMs: 15_000 };
  const message = (i: number): MailMessage => ({
    from: { name: 'Koppel bench', address: 'bench@koppel.example' },
    to: [{ address: `r${i}@example.nl` }],
    cc: [],
    bcc: [],
    subject: `Bench ${i}`,
    text: 'Een korte tekst zoals een notificatie die heeft.\n',
    messageId: `<bench-${i}@koppel.example>`,
    headers: { 'X-Koppel-Message-Id': `bench-${i}` },
    attachments: [],
  });
  try {
    const pool = new TransportPool(tuning);
    const signal = new AbortController().signal;
    const pooledStart = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: tuning.maxConnections }, async () => {
        while (next < n) {
          const i = next++;
          const sent = await sendMessage(pool.get(server), server, message(i), [`r${i}@example.nl`], signal);
          if (!sent.ok) throw new Error(`pooled send failed: ${sent.error.message}`);
        }
      }),
    );
    const pooledSeconds = Number(process.hrtime.bigint() - pooledStart) / 1e9;
    pool.close();

    const unpooled = nodemailer.createTransport(transportOptions(server, tuning, false));
    const unpooledStart = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const m = message(n + i);
      await unpooled.sendMail({
        from: m.from,
        to: [...m.to],
        subject: m.subject,
        text: m.text ?? '',
        messageId: m.messageId,
        headers: { ...m.headers },
      });
    }
    const unpooledSeconds = Number(process.hrtime.bigint() - unpooledStart) / 1e9;
    unpooled.close();

    if (partner.mails.length !== 2 * n)
      throw new Error(`expected ${2 * n} mails at the server, got ${partner.mails.length}`);
    return { pooledPerSec: round(n / pooledSeconds), unpooledPerSec: round(n / unpooledSeconds), n };
  } finally {
    await partner.close();
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
