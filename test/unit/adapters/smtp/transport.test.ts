import assert from 'node:assert/strict';
import { classifySmtpError, transportOptions, type SmtpError } from '../../../../adapters/smtp/transport.ts';
import type { MailServer } from '../../../../adapters/smtp/servers.ts';

describe('adapters/smtp/transport classifySmtpError', () => {
  // Shapes as nodemailer 10 produces them (seen against smtp-server on loopback).
  const table: [string, SmtpError, 'transient' | 'rejected', string | undefined][] = [
    [
      'no STARTTLS offered (500 to STARTTLS)',
      { code: 'ETLS', command: 'STARTTLS', responseCode: 500, response: '500 Error: command not recognized' },
      'rejected',
      'smtp-no-tls',
    ],
    [
      'STARTTLS refused with 454',
      { code: 'ETLS', command: 'STARTTLS', responseCode: 454, response: '454 TLS not available' },
      'rejected',
      'smtp-no-tls',
    ],
    [
      'certificate from an unknown CA',
      {
        code: 'ESOCKET',
        command: 'CONN',
        originalCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        message: 'unable to verify the first certificate',
      },
      'rejected',
      'smtp-tls-failed',
    ],
    [
      'certificate for another name',
      { code: 'ESOCKET', command: 'CONN', originalCode: 'ERR_TLS_CERT_ALTNAME_INVALID' },
      'rejected',
      'smtp-tls-failed',
    ],
    [
      'expired certificate',
      { code: 'ESOCKET', originalCode: 'CERT_HAS_EXPIRED' },
      'rejected',
      'smtp-tls-failed',
    ],
    [
      'implicit TLS against a plain port',
      { code: 'ESOCKET', originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER' },
      'rejected',
      'smtp-tls-failed',
    ],
    [
      'TLS handshake cut by the network',
      { code: 'ETLS', command: 'CONN', message: 'Connection closed unexpectedly' },
      'transient',
      undefined,
    ],
    [
      'wrong credentials (535)',
      {
        code: 'EAUTH',
        responseCode: 535,
        command: 'AUTH PLAIN',
        response: '535 Authentication credentials invalid',
      },
      'rejected',
      'smtp-auth-failed',
    ],
    [
      'temporary authentication failure (454)',
      { code: 'EAUTH', responseCode: 454, response: '454 Temporary authentication failure' },
      'transient',
      undefined,
    ],
    [
      'connection refused',
      {
        code: 'ESOCKET',
        originalCode: 'ECONNREFUSED',
        command: 'CONN',
        message: 'connect ECONNREFUSED 127.0.0.1:25',
      },
      'transient',
      undefined,
    ],
    [
      'connection reset',
      { code: 'ECONNECTION', message: 'Connection closed unexpectedly' },
      'transient',
      undefined,
    ],
    ['timeout', { code: 'ETIMEDOUT', message: 'Greeting never received' }, 'transient', undefined],
    ['DNS failure', { code: 'EDNS', originalCode: 'ENOTFOUND' }, 'transient', undefined],
    [
      '421 at greeting',
      { code: 'ECONNECTION', responseCode: 421, response: '421 Service not available' },
      'transient',
      undefined,
    ],
    [
      'all recipients 451',
      { code: 'EENVELOPE', responseCode: 451, command: 'RCPT TO', response: '451 try later' },
      'transient',
      undefined,
    ],
    [
      'all recipients 452',
      { code: 'EENVELOPE', responseCode: 452, response: '452 Insufficient system storage' },
      'transient',
      undefined,
    ],
    [
      'all recipients 550',
      { code: 'EENVELOPE', responseCode: 550, response: '550 no such user' },
      'rejected',
      'smtp-550',
    ],
    [
      'sender refused 553',
      { code: 'EENVELOPE', responseCode: 553, command: 'MAIL FROM', response: '553 not allowed' },
      'rejected',
      'smtp-553',
    ],
    [
      'message refused 554 at DATA',
      { code: 'EMESSAGE', responseCode: 554, command: 'DATA', response: '554 Transaction failed' },
      'rejected',
      'smtp-554',
    ],
    [
      'message deferred 451 at DATA',
      { code: 'EMESSAGE', responseCode: 451, command: 'DATA', response: '451 local error' },
      'transient',
      undefined,
    ],
    [
      'too large for the server (no reply)',
      { code: 'EMESSAGE', command: 'MAIL FROM', message: 'Message size larger than allowed 1000' },
      'rejected',
      'smtp-message-invalid',
    ],
    ['something unknown', { code: 'ESOMETHING', message: 'new library error' }, 'transient', undefined],
  ];
  for (const [name, error, kind, code] of table) {
    it(`${name} → ${kind}${code ? ` (${code})` : ''}`, () => {
      const outcome = classifySmtpError(error, { summary: 'request' });
      assert.equal(outcome.kind, kind);
      if (outcome.kind === 'rejected') assert.equal(outcome.code, code);
      if (outcome.kind === 'rejected' || outcome.kind === 'transient') {
        assert.equal(outcome.evidence?.request?.summary, 'request');
        assert.equal(
          outcome.evidence?.response?.status,
          error.responseCode ?? error.originalCode ?? error.code,
        );
      }
    });
  }
});

describe('adapters/smtp/transport transportOptions', () => {
  const server: MailServer = {
    id: 's',
    name: 'S',
    host: 'smtp.example.nl',
    port: 587,
    security: 'starttls',
    user: 'u',
    password: 'p',
    dkim: [],
    limits: {},
    archived: false,
    version: 1,
  };
  const tuning = { maxConnections: 2, maxMessages: 10, connectionTimeoutMs: 5000 };

  it('requires STARTTLS, verifies the certificate against the host name, TLS 1.2 or later', () => {
    const options = transportOptions(server, tuning, true) as Record<string, any>;
    assert.deepEqual(
      { secure: options.secure, requireTLS: options.requireTLS, pool: options.pool, tls: options.tls },
      {
        secure: false,
        requireTLS: true,
        pool: true,
        tls: { servername: 'smtp.example.nl', minVersion: 'TLSv1.2', rejectUnauthorized: true },
      },
    );
  });

  it('uses TLS from the first byte for security tls, and adds a private CA to the system CAs', () => {
    const options = transportOptions({ ...server, security: 'tls', caPem: 'PEM' }, tuning, false) as Record<
      string,
      any
    >;
    assert.equal(options.secure, true);
    assert.equal(options.requireTLS, false);
    assert.equal(options.pool, undefined);
    assert.equal(options.tls.ca.at(-1), 'PEM');
    assert.ok(options.tls.ca.length > 1);
  });
});
