import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  AdapterInstance,
  ApiRequest,
  ApiResponse,
  Delivery,
  Outcome,
} from '../../gateway/adapter-kit/index.ts';
import type { SmtpSettings } from '../../adapters/smtp/settings.ts';
import { smtpAdapter } from '../../adapters/smtp/index.ts';
import { makeTestCa, type TestCa } from '../helpers/certs.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { describeAdapterConformance } from '../conformance/adapter-conformance.ts';
import {
  startSmtpPartner,
  type SmtpPartner,
  type SmtpPartnerSecurity,
} from '../helpers/servers/smtp-partner.ts';
import {
  attemptAt,
  mailDelivery,
  startSmtpHarness,
  type SmtpHarness,
} from '../unit/adapters/smtp/context.ts';

const AUTH = { user: 'gw', pass: 'p4ss-w0rd-secret' };

function api(
  instance: AdapterInstance,
  operationId: string,
  request: Partial<ApiRequest> = {},
): Promise<ApiResponse> {
  const handler = instance.management?.[operationId];
  if (!handler) throw new Error(`no handler ${operationId}`);
  return handler({ operationId, params: {}, query: {}, headers: {}, body: undefined, ...request });
}

function body(response: ApiResponse): Record<string, any> {
  return response.body as Record<string, any>;
}

function codeFrom(partner: SmtpPartner, index: number): string {
  const subject = partner.mails[index]?.parsed.subject ?? '';
  const match = /(\d{6})/.exec(subject);
  if (!match?.[1]) throw new Error(`no code in "${subject}"`);
  return match[1];
}

interface Setup {
  readonly harness: SmtpHarness;
  readonly instance: AdapterInstance;
  readonly partner: SmtpPartner;
  readonly serverId: string;
  readonly senderId: string;
}

/** A partner, a server for it created through the API, and a sender verified through the e-mailed code. */
async function setUp(
  ca: TestCa,
  options: { security?: SmtpPartnerSecurity; settings?: SmtpSettings; server?: Record<string, unknown> } = {},
): Promise<Setup> {
  const security = options.security ?? 'starttls';
  const partner = await startSmtpPartner({
    security,
    keyPem: ca.serverKeyPem,
    certPem: ca.serverCertPem,
    auth: AUTH,
  });
  const harness = await startSmtpHarness(options.settings ?? {});
  const instance = await harness.create();
  const created = await api(instance, 'smtp.createServer', {
    query: { test: 'true' },
    body: loopbackServer('Loopback', partner, ca, security, options.server),
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const serverId = body(created).id as string;
  const added = await api(instance, 'smtp.addSender', {
    params: { id: serverId },
    body: { name: 'Arbodienst Noord', address: 'NoReply@arbo-noord.example' },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  assert.deepEqual(body(added).codeMail, { sent: true });
  await partner.waitForMails(1);
  const senderId = body(added).id as string;
  const verified = await api(instance, 'smtp.verifySender', {
    params: { id: serverId, senderId },
    body: { code: codeFrom(partner, 0) },
  });
  assert.equal(verified.status, 200, JSON.stringify(verified.body));
  partner.mails.length = 0;
  partner.rcptLog.length = 0;
  return { harness, instance, partner, serverId, senderId };
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  if (!setup) return;
  await setup.harness.close();
  await setup.partner.close();
}

/** The body that adds a mail server at this loopback partner, with the suite's account and test CA. */
function loopbackServer(
  name: string,
  partner: { readonly port: number },
  ca: TestCa,
  security: SmtpPartnerSecurity,
  more: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    host: '127.0.0.1',
    port: partner.port,
    security,
    authentication: { user: AUTH.user, password: AUTH.pass },
    caPem: ca.caPem,
    ...more,
  };
}

/** A mail of one line to these addresses from the suite's verified sender. */
function plainMail(s: Setup, to: string | readonly string[], onderwerp: string): Delivery {
  return mailDelivery({
    aan: (typeof to === 'string' ? [to] : to).map((adres) => ({ adres })),
    afzenderId: s.senderId,
    onderwerp,
    tekst: 'x',
  });
}

describe('smtp adapter against a real SMTP server on loopback', function () {
  this.timeout(30_000);
  let ca: TestCa;
  let otherCa: TestCa;

  before(() => {
    ca = makeTestCa();
    otherCa = makeTestCa();
  });

  describe('STARTTLS with authentication', () => {
    let s: Setup;
    before(async () => {
      s = await setUp(ca);
    });
    after(() => tearDown(s));

    it('delivers a request with cc, bcc and an attachment, every field as sent', async () => {
      const delivery = mailDelivery({
        aan: [{ adres: 'jan.devries@example.nl', naam: 'Jan de Vries' }],
        cc: [{ adres: 'hr@werkgever.example', naam: 'HR' }],
        bcc: [{ adres: 'archief@arbo-noord.example' }],
        afzenderId: s.senderId,
        taal: 'nl-NL',
        onderwerp: 'Logverslag — datastroom “verzuim”',
        tekst: 'Zie de bijlage.\n',
        html: '<p>Zie de bijlage.</p>',
        bijlagen: [
          {
            bestandsnaam: 'logverslag.csv',
            formaat: 'text/csv',
            inhoud: Buffer.from('regel;status\n1;ok\n').toString('base64'),
          },
        ],
      });
      const outcome = await s.instance.deliver(delivery, attemptAt(s.harness));
      assert.equal(outcome.kind, 'delivered', JSON.stringify(outcome));
      const [mail] = await s.partner.waitForMails(1);
      assert.ok(mail);
      assert.equal(mail.secure, true, 'the session was upgraded to TLS');
      assert.equal(mail.user, AUTH.user);
      assert.equal(mail.from, 'noreply@arbo-noord.example');
      assert.deepEqual([...mail.to].sort(), [
        'archief@arbo-noord.example',
        'hr@werkgever.example',
        'jan.devries@example.nl',
      ]);
      const parsed = mail.parsed;
      assert.deepEqual(parsed.from?.value, [
        { address: 'noreply@arbo-noord.example', name: 'Arbodienst Noord' },
      ]);
      assert.deepEqual(
        (Array.isArray(parsed.to) ? parsed.to : [parsed.to]).flatMap((a) => a?.value ?? []),
        [{ address: 'jan.devries@example.nl', name: 'Jan de Vries' }],
      );
      assert.deepEqual(
        (Array.isArray(parsed.cc) ? parsed.cc : [parsed.cc]).flatMap((a) => a?.value ?? []),
        [{ address: 'hr@werkgever.example', name: 'HR' }],
      );
      assert.equal(parsed.bcc, undefined, 'bcc is not in the headers');
      assert.equal(parsed.subject, 'Logverslag — datastroom “verzuim”');
      assert.equal(parsed.text, 'Zie de bijlage.\n');
      assert.equal(parsed.html, '<p>Zie de bijlage.</p>');
      assert.equal(parsed.headers.get('x-koppel-message-id'), delivery.message.id);
      assert.equal(parsed.messageId, `<${delivery.message.id}@arbo-noord.example>`);
      assert.equal(parsed.headers.get('content-language'), 'nl-NL');
      assert.equal(parsed.attachments.length, 1);
      assert.equal(parsed.attachments[0]?.filename, 'logverslag.csv');
      assert.equal(parsed.attachments[0]?.contentType, 'text/csv');
      assert.equal(parsed.attachments[0]?.content.toString('utf8'), 'regel;status\n1;ok\n');
    });

    it('does not send again to recipients that were accepted (same delivery, second attempt)', async () => {
      s.partner.mails.length = 0;
      const delivery = plainMail(s, 'once@example.nl', 'Eén keer');
      assert.equal((await s.instance.deliver(delivery, attemptAt(s.harness, 1))).kind, 'delivered');
      const again = await s.instance.deliver(delivery, attemptAt(s.harness, 2));
      assert.equal(again.kind, 'delivered');
      assert.match(JSON.stringify(again), /earlier attempt/);
      assert.equal(s.partner.mails.length, 1);
    });

    it('retries a 451 and then delivers on the 250', async () => {
      s.partner.mails.length = 0;
      s.partner.script('later@example.nl', [451, 250]);
      const delivery = plainMail(s, 'later@example.nl', 'Straks');
      const first = await s.instance.deliver(delivery, attemptAt(s.harness, 1));
      assert.equal(first.kind, 'transient', JSON.stringify(first));
      assert.match((first as Extract<Outcome, { kind: 'transient' }>).reason, /451/);
      const second = await s.instance.deliver(delivery, attemptAt(s.harness, 2));
      assert.equal(second.kind, 'delivered', JSON.stringify(second));
      assert.equal(s.partner.mails.length, 1);
      assert.equal(s.partner.mails[0]?.parsed.headers.get('x-koppel-message-id'), delivery.message.id);
    });

    it('rejects a 550 with the server reply as evidence', async () => {
      s.partner.script('nobody@example.nl', [550]);
      const delivery = plainMail(s, 'nobody@example.nl', 'Niemand');
      const outcome = await s.instance.deliver(delivery, attemptAt(s.harness));
      assert.equal(outcome.kind, 'rejected', JSON.stringify(outcome));
      const r = outcome as Extract<Outcome, { kind: 'rejected' }>;
      assert.match(r.reason, /550 Mailbox unavailable/);
      assert.equal(r.evidence.response?.status, 550);
      assert.match(r.evidence.request?.summary ?? '', /RCPT TO:<nobody@example.nl>/);
    });

    it('partial acceptance: the refused recipients are rejected, the accepted ones never sent again', async () => {
      s.partner.mails.length = 0;
      s.partner.rcptLog.length = 0;
      s.partner.script('gone@example.nl', [550, 250]);
      const delivery = plainMail(s, ['here@example.nl', 'gone@example.nl'], 'Half');
      const first = await s.instance.deliver(delivery, attemptAt(s.harness, 1));
      assert.equal(first.kind, 'rejected', JSON.stringify(first));
      const r = first as Extract<Outcome, { kind: 'rejected' }>;
      assert.equal(r.code, 'smtp-recipients-refused');
      assert.match(r.reason, /gone@example\.nl \(550/);
      assert.doesNotMatch(r.reason, /here@example/);
      assert.match(r.evidence.response?.body ?? '', /accepted: here@example\.nl/);
      assert.deepEqual(
        s.partner.mails.map((m) => m.to),
        [['here@example.nl']],
      );
      // An admin retries from the error log: only the refused recipient is tried, with the full headers.
      const replay = await s.instance.deliver(delivery, attemptAt(s.harness, 2));
      assert.equal(replay.kind, 'delivered', JSON.stringify(replay));
      assert.deepEqual(
        s.partner.mails.map((m) => m.to),
        [['here@example.nl'], ['gone@example.nl']],
      );
      const headerTo = s.partner.mails[1]?.parsed.to;
      assert.deepEqual(
        (Array.isArray(headerTo) ? headerTo : [headerTo]).flatMap(
          (a) => a?.value.map((v) => v.address) ?? [],
        ),
        ['here@example.nl', 'gone@example.nl'],
      );
      assert.deepEqual(
        s.partner.rcptLog.map((l) => l.address),
        ['here@example.nl', 'gone@example.nl', 'gone@example.nl'],
      );
    });

    it('a refused message at DATA is transient on 451 and rejected on 554', async () => {
      s.partner.scriptData([451, 554]);
      const make = () => plainMail(s, 'data@example.nl', 'Data');
      assert.equal((await s.instance.deliver(make(), attemptAt(s.harness))).kind, 'transient');
      assert.equal((await s.instance.deliver(make(), attemptAt(s.harness))).kind, 'rejected');
    });

    it('skips an unknown sender, planned on the default target so that the error log shows it', async () => {
      const data = {
        aan: [{ adres: 'x@example.nl' }],
        afzenderId: 'does-not-exist',
        onderwerp: 'x',
        tekst: 'x',
      };
      const delivery = mailDelivery(data);
      const targets = await s.instance.plan(delivery.message, {
        db: s.harness.ctx.db,
        memo: new Map(),
        account: (id: string) => s.harness.ctx.account(id),
      });
      assert.deepEqual(
        targets.map((t) => t.target),
        ['default'],
      );
      const outcome = await s.instance.deliver(delivery, attemptAt(s.harness));
      assert.deepEqual(outcome.kind === 'skipped' ? outcome.rule : outcome.kind, 'sender-unknown');
    });

    it('plans a known sender on its own server', async () => {
      const delivery = plainMail(s, 'x@example.nl', 'x');
      assert.deepEqual(
        await s.instance.plan(delivery.message, {
          db: s.harness.ctx.db,
          memo: new Map(),
          account: (id: string) => s.harness.ctx.account(id),
        }),
        [{ target: s.serverId, label: 'Loopback' }],
      );
    });

    it('skips a sender that is not verified', async () => {
      const added = await api(s.instance, 'smtp.addSender', {
        params: { id: s.serverId },
        body: { name: 'Nieuw', address: 'nieuw@arbo-noord.example' },
      });
      assert.equal(added.status, 201);
      const delivery = mailDelivery({
        aan: [{ adres: 'x@example.nl' }],
        afzenderId: body(added).id,
        onderwerp: 'x',
        tekst: 'x',
      });
      const outcome = await s.instance.deliver(delivery, attemptAt(s.harness));
      assert.equal(outcome.kind === 'skipped' ? outcome.rule : outcome.kind, 'sender-not-verified');
    });

    it('skips a request whose template is missing, or whose variable is missing', async () => {
      const missingTemplate = await s.instance.deliver(
        mailDelivery({
          aan: [{ adres: 'x@example.nl' }],
          afzenderId: s.senderId,
          taal: 'nl',
          sjabloon: { naam: 'bestaat-niet', variabelen: {} },
        }),
        attemptAt(s.harness),
      );
      assert.equal(
        missingTemplate.kind === 'skipped' ? missingTemplate.rule : missingTemplate.kind,
        'unmappable:missing-template',
      );
      const missingVariable = await s.instance.deliver(
        mailDelivery({
          aan: [{ adres: 'x@example.nl' }],
          afzenderId: s.senderId,
          taal: 'nl',
          sjabloon: { naam: 'sender-verification', variabelen: { naam: 'x' } },
        }),
        attemptAt(s.harness),
      );
      assert.equal(
        missingVariable.kind === 'skipped' ? missingVariable.rule : missingVariable.kind,
        'unmappable:missing-variable',
      );
      assert.match(
        missingVariable.kind === 'skipped' ? missingVariable.detail : '',
        /adres, code, geldigMinuten, server/,
      );
    });

    it('never shows the password or the code in API answers, rows or logs', async () => {
      const listed = JSON.stringify((await api(s.instance, 'smtp.listServers')).body);
      assert.doesNotMatch(listed, new RegExp(AUTH.pass));
      assert.match(listed, /"hasPassword":true/);
      const row = await s.harness.db
        .selectFrom('smtp_servers')
        .selectAll()
        .where('id', '=', s.serverId)
        .executeTakeFirstOrThrow();
      assert.doesNotMatch(JSON.stringify(row), new RegExp(AUTH.pass));
      // A refused recipient makes the adapter log about a send through this server, credentials in hand.
      s.partner.script('logged@example.nl', [550]);
      await s.instance.deliver(plainMail(s, 'logged@example.nl', 'Log'), attemptAt(s.harness));
      assert.ok(
        s.harness.logs.length > 0,
        'the adapter’s logs were captured, so their check means something',
      );
      assert.doesNotMatch(JSON.stringify(s.harness.logs), new RegExp(AUTH.pass));
    });

    it('reports health from a real connection: false when the server is down, true when it is back', async () => {
      assert.equal((await s.instance.health()).ok, true);
      await s.partner.stop();
      try {
        const down = await s.instance.health();
        assert.equal(down.ok, false);
        const outcome = await s.instance.deliver(plainMail(s, 'x@example.nl', 'x'), attemptAt(s.harness));
        assert.equal(outcome.kind, 'transient', JSON.stringify(outcome));
        assert.match((outcome as Extract<Outcome, { kind: 'transient' }>).reason, /ECONNREFUSED/);
      } finally {
        await s.partner.start();
      }
      assert.equal((await s.instance.health()).ok, true);
    });
  });

  describe('implicit TLS', () => {
    let s: Setup;
    before(async () => {
      s = await setUp(ca, { security: 'tls' });
    });
    after(() => tearDown(s));

    it('verifies a sender and delivers over TLS from the first byte', async () => {
      const outcome = await s.instance.deliver(plainMail(s, 'tls@example.nl', 'TLS'), attemptAt(s.harness));
      assert.equal(outcome.kind, 'delivered', JSON.stringify(outcome));
      const [mail] = await s.partner.waitForMails(1);
      assert.equal(mail?.secure, true);
      assert.equal(mail?.user, AUTH.user);
    });
  });

  describe('servers that cannot be used', () => {
    let harness: SmtpHarness;
    let instance: AdapterInstance;
    const partners: SmtpPartner[] = [];
    before(async () => {
      harness = await startSmtpHarness({});
      instance = await harness.create();
    });
    after(async () => {
      await harness.close();
      for (const p of partners) await p.close();
    });

    async function partner(security: SmtpPartnerSecurity, tlsCa = ca): Promise<SmtpPartner> {
      const p = await startSmtpPartner({
        security,
        keyPem: tlsCa.serverKeyPem,
        certPem: tlsCa.serverCertPem,
        auth: AUTH,
      });
      partners.push(p);
      return p;
    }
    const server = (p: SmtpPartner, extra: Record<string, unknown> = {}) =>
      loopbackServer('x', p, ca, 'starttls', extra);

    it('refuses a server configured without TLS with a clear 400', async () => {
      const p = await partner('none');
      const response = await api(instance, 'smtp.createServer', { body: server(p, { security: 'none' }) });
      assert.equal(response.status, 400);
      assert.equal(body(response).type, 'mail-server-tls-required');
      assert.deepEqual(
        body(response).errors.map((e: { pointer: string }) => e.pointer),
        ['/body/security'],
      );
    });

    it('refuses a server that offers no STARTTLS when tested, and rejects mail for it', async () => {
      const p = await partner('none');
      const tested = await api(instance, 'smtp.createServer', { query: { test: 'true' }, body: server(p) });
      assert.equal(tested.status, 400, JSON.stringify(tested.body));
      assert.equal(body(tested).type, 'mail-server-tls-required');
      assert.equal(
        (await api(instance, 'smtp.listServers')).body &&
          body(await api(instance, 'smtp.listServers')).items.length,
        0,
      );

      const created = await api(instance, 'smtp.createServer', { body: server(p) });
      assert.equal(created.status, 201);
      const check = await api(instance, 'smtp.testServer', { params: { id: body(created).id } });
      assert.deepEqual({ ok: body(check).ok, code: body(check).code }, { ok: false, code: 'smtp-no-tls' });
      assert.equal(p.mails.length, 0);
      // A sender on it cannot even get its code: the code mail is refused the same way.
      const added = await api(instance, 'smtp.addSender', {
        params: { id: body(created).id },
        body: { name: 'n', address: 'n@example.nl' },
      });
      assert.equal(body(added).codeMail.sent, false);
      assert.match(body(added).codeMail.reason, /server offers no TLS/);
    });

    it('refuses a certificate from an unknown CA unless the CA is added', async () => {
      const p = await partner('starttls', otherCa);
      const untrusted = await api(instance, 'smtp.createServer', {
        query: { test: 'true' },
        body: server(p),
      });
      assert.equal(untrusted.status, 422, JSON.stringify(untrusted.body));
      assert.equal(body(untrusted).type, 'mail-server-test-failed');
      assert.match(body(untrusted).detail, /TLS refused: unable to verify/);
      const trusted = await api(instance, 'smtp.createServer', {
        query: { test: 'true' },
        body: server(p, { caPem: otherCa.caPem }),
      });
      assert.equal(trusted.status, 201, JSON.stringify(trusted.body));
    });

    it('rejects wrong credentials (535)', async () => {
      const p = await partner('starttls');
      const created = await api(instance, 'smtp.createServer', {
        body: server(p, { authentication: { user: AUTH.user, password: 'wrong' } }),
      });
      const check = await api(instance, 'smtp.testServer', { params: { id: body(created).id } });
      assert.deepEqual(
        { ok: body(check).ok, outcome: body(check).outcome, code: body(check).code },
        { ok: false, outcome: 'rejected', code: 'smtp-auth-failed' },
      );
    });

    it('fills in a type and refuses a generic server without host', async () => {
      const m365 = await api(instance, 'smtp.createServer', {
        body: { name: 'M365', type: 'microsoft-365', authentication: { user: 'a@b.nl', password: 'x' } },
      });
      assert.equal(m365.status, 201);
      assert.deepEqual(
        {
          host: body(m365).host,
          port: body(m365).port,
          security: body(m365).security,
          limits: body(m365).limits,
        },
        {
          host: 'smtp.office365.com',
          port: 587,
          security: 'starttls',
          limits: { perMinute: 30, perHour: null, perDay: 10000 },
        },
      );
      const generic = await api(instance, 'smtp.createServer', {
        body: { name: 'Generic', type: 'generic' },
      });
      assert.equal(generic.status, 400);
      assert.deepEqual(body(generic).errors, [
        { pointer: '/body/host', detail: 'required for type generic' },
      ]);
    });
  });

  describe('sender verification codes', () => {
    let s: Setup;
    before(async () => {
      s = await setUp(ca, { settings: { verification: { maxTries: 3, codeTtlMinutes: 15 } } });
    });
    after(() => tearDown(s));

    async function addSender(address: string): Promise<{ id: string; code: string }> {
      const before = s.partner.mails.length;
      const added = await api(s.instance, 'smtp.addSender', {
        params: { id: s.serverId },
        body: { name: 'Test', address },
      });
      assert.equal(added.status, 201);
      await s.partner.waitForMails(before + 1);
      const mail = s.partner.mails[before];
      assert.deepEqual(mail?.to, [address]);
      assert.equal(mail?.parsed.headers.get('content-language'), 'nl-NL');
      return { id: body(added).id, code: codeFrom(s.partner, before) };
    }
    const verify = (id: string, code: string) =>
      api(s.instance, 'smtp.verifySender', { params: { id: s.serverId, senderId: id }, body: { code } });

    it('stores the code hashed, counts wrong tries, and asks for a new code after the last one', async () => {
      const { id, code } = await addSender('tries@arbo-noord.example');
      const row = await s.harness.db
        .selectFrom('smtp_senders')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      assert.ok(row.code_hash && row.code_hash.length === 64 && !row.code_hash.includes(code));
      const sentRecord = s.harness.logs.find((r) => r.msg === 'mail_sender_code_sent' && r.senderId === id);
      assert.ok(sentRecord, 'sending the code was logged, so the check below has a line to look at');
      assert.doesNotMatch(JSON.stringify(s.harness.logs), new RegExp(code));
      const wrong = code === '000000' ? '111111' : '000000';
      const first = await verify(id, wrong);
      assert.equal(first.status, 400);
      assert.equal(body(first).type, 'mail-sender-code-invalid');
      assert.match(body(first).detail, /2 tries left/);
      assert.equal((await verify(id, wrong)).status, 400);
      const last = await verify(id, wrong);
      assert.equal(body(last).type, 'mail-sender-code-expired');
      assert.equal(
        body(await verify(id, code)).type,
        'mail-sender-code-expired',
        'the right code no longer helps',
      );
      const resent = await api(s.instance, 'smtp.sendSenderCode', {
        params: { id: s.serverId, senderId: id },
      });
      assert.equal(resent.status, 202);
      await s.partner.waitForMails(s.partner.mails.length);
      const newCode = codeFrom(s.partner, s.partner.mails.length - 1);
      const ok = await verify(id, newCode);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(body(ok).status, 'verified');
      assert.equal((await verify(id, newCode)).status, 409);
    });

    it('lets a code expire after its time', async () => {
      const { id, code } = await addSender('late@arbo-noord.example');
      s.harness.clock.now = new Date(s.harness.clock.now.getTime() + 15 * 60_000);
      const late = await verify(id, code);
      assert.equal(late.status, 409);
      assert.equal(body(late).type, 'mail-sender-code-expired');
      assert.match(body(late).detail, /expired/);
    });
  });

  describe('sending limits', () => {
    let s: Setup;
    before(async () => {
      // The code mail counts too: 1 of the 3 per minute is used when the tests start.
      s = await setUp(ca, { server: { limits: { perMinute: 3, perDay: 100 } } });
    });
    after(() => tearDown(s));

    it('makes a message over the limit wait until the window ends, then sends it', async () => {
      const minuteStart = Math.floor(s.harness.clock.now.getTime() / 60_000) * 60_000;
      s.harness.clock.now = new Date(minuteStart + 15_000);
      const make = (n: number) =>
        mailDelivery({
          aan: [{ adres: `limit${n}@example.nl` }],
          afzenderId: s.senderId,
          onderwerp: `${n}`,
          tekst: 'x',
        });
      assert.equal((await s.instance.deliver(make(1), attemptAt(s.harness))).kind, 'delivered');
      assert.equal((await s.instance.deliver(make(2), attemptAt(s.harness))).kind, 'delivered');
      const third = make(3);
      const waiting = await s.instance.deliver(third, attemptAt(s.harness));
      assert.equal(waiting.kind, 'transient', JSON.stringify(waiting));
      assert.equal((waiting as Extract<Outcome, { kind: 'transient' }>).retryAfterMs, 45_000);
      assert.match((waiting as Extract<Outcome, { kind: 'transient' }>).reason, /limit of 3 per minute/);
      const usage = body(await api(s.instance, 'smtp.getServerUsage', { params: { id: s.serverId } }));
      assert.deepEqual(
        { count: usage.minute.count, limit: usage.minute.limit, day: usage.day.count },
        { count: 3, limit: 3, day: 3 },
      );
      s.harness.clock.now = new Date(minuteStart + 60_000);
      assert.equal((await s.instance.deliver(third, attemptAt(s.harness, 2))).kind, 'delivered');
      assert.equal(s.partner.mails.length, 3);
    });

    it('does not count a message the server did not take', async () => {
      s.harness.clock.now = new Date(Math.floor(s.harness.clock.now.getTime() / 60_000) * 60_000 + 120_000);
      s.partner.script('bounce@example.nl', [451]);
      const outcome = await s.instance.deliver(plainMail(s, 'bounce@example.nl', 'x'), attemptAt(s.harness));
      assert.equal(outcome.kind, 'transient');
      const usage = body(await api(s.instance, 'smtp.getServerUsage', { params: { id: s.serverId } }));
      assert.equal(usage.minute.count, 0);
    });
  });

  describe('templates in two languages with fallback, and DKIM', () => {
    let s: Setup;
    let dir: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'koppel-templates-'));
      const write = (lang: string, subject: string, text: string, html: string) => {
        mkdirSync(join(dir, lang), { recursive: true });
        writeFileSync(join(dir, lang, 'welkom.subject.txt'), subject);
        writeFileSync(join(dir, lang, 'welkom.txt'), text);
        writeFileSync(join(dir, lang, 'welkom.html'), html);
      };
      write(
        'nl',
        'Welkom, {{naam}}\n',
        'Hallo {{naam}}, welkom bij {{bedrijf}}.\n',
        '<p>Hallo {{naam}}, welkom bij {{bedrijf}}.</p>',
      );
      write(
        'en-GB',
        'Welcome, {{naam}}\n',
        'Hello {{naam}}, welcome to {{bedrijf}}.\n',
        '<p>Hello {{naam}}, welcome to {{bedrijf}}.</p>',
      );
      s = await setUp(ca, {
        settings: { templateDirs: [dir], defaultLanguage: 'en-GB' },
        server: {
          dkim: [{ domain: 'arbo-noord.example', selector: 'koppel', privateKeyPem: ca.clientKeyPem }],
        },
      });
    });
    after(async () => {
      await tearDown(s);
      rmSync(dir, { recursive: true, force: true });
    });

    const send = async (taal: string) => (await sendRaw(taal)).parsed;
    const sendRaw = async (taal: string) => {
      const delivery = mailDelivery({
        aan: [{ adres: `${taal}@example.nl` }],
        afzenderId: s.senderId,
        taal,
        sjabloon: { naam: 'welkom', variabelen: { naam: 'Jan <J>', bedrijf: 'A & B' } },
      });
      const outcome = await s.instance.deliver(delivery, attemptAt(s.harness));
      assert.equal(outcome.kind, 'delivered', JSON.stringify(outcome));
      const mails = await s.partner.waitForMails(s.partner.mails.length);
      return mails[mails.length - 1]!;
    };

    it('renders nl-BE from the nl template, HTML-escaped in the HTML part only', async () => {
      const parsed = await send('nl-BE');
      assert.equal(parsed.subject, 'Welkom, Jan <J>');
      assert.equal(parsed.text, 'Hallo Jan <J>, welkom bij A & B.\n');
      assert.equal(parsed.html, '<p>Hallo Jan &lt;J&gt;, welkom bij A &amp; B.</p>');
      assert.equal(parsed.headers.get('content-language'), 'nl');
    });

    it('renders en-GB, and falls back from an unknown language to the default (en-GB)', async () => {
      assert.equal((await send('en-GB')).subject, 'Welcome, Jan <J>');
      const fallback = await send('fr-FR');
      assert.equal(fallback.subject, 'Welcome, Jan <J>');
      assert.equal(fallback.headers.get('content-language'), 'en-GB');
    });

    it('signs with the DKIM key of the sender domain', async () => {
      const { raw } = await sendRaw('nl');
      const header = /^DKIM-Signature: ([^]*?)\r\n(?=\S)/m.exec(raw.toString('utf8'))?.[1] ?? '';
      assert.match(header, /a=rsa-sha256/);
      assert.match(header, /d=arbo-noord\.example/);
      assert.match(header, /s=koppel/);
    });
  });

  describe('the configured default server and archiving', () => {
    let harness: SmtpHarness;
    let instance: AdapterInstance;
    let p: SmtpPartner;
    before(async () => {
      p = await startSmtpPartner({
        security: 'tls',
        keyPem: ca.serverKeyPem,
        certPem: ca.serverCertPem,
        auth: AUTH,
      });
      harness = await startSmtpHarness({
        defaultServer: {
          name: 'Uit configuratie',
          host: '127.0.0.1',
          port: p.port,
          security: 'tls',
          user: AUTH.user,
          password: AUTH.pass,
          caPem: ca.caPem,
        },
      });
      instance = await harness.create();
    });
    after(async () => {
      await harness.close();
      await p.close();
    });

    it('comes from configuration, is usable, and cannot be changed or archived through the API', async () => {
      const got = body(await api(instance, 'smtp.getServer', { params: { id: 'default' } }));
      assert.deepEqual(
        { name: got.name, configured: got.configured, security: got.security },
        { name: 'Uit configuratie', configured: true, security: 'tls' },
      );
      assert.equal(body(await api(instance, 'smtp.testServer', { params: { id: 'default' } })).ok, true);
      assert.equal(
        (await api(instance, 'smtp.updateServer', { params: { id: 'default' }, body: { name: 'x' } })).status,
        409,
      );
      assert.equal((await api(instance, 'smtp.archiveServer', { params: { id: 'default' } })).status, 409);
    });

    it('archives a server: its mail is skipped, its history and senders stay', async () => {
      const created = await api(instance, 'smtp.createServer', {
        body: loopbackServer('Oud', p, ca, 'tls'),
      });
      const id = body(created).id as string;
      const added = await api(instance, 'smtp.addSender', {
        params: { id },
        body: { name: 'Oud', address: 'oud@arbo-noord.example' },
      });
      await p.waitForMails(1);
      const senderId = body(added).id as string;
      const code = codeFrom(p, p.mails.length - 1);
      assert.equal(
        (await api(instance, 'smtp.verifySender', { params: { id, senderId }, body: { code } })).status,
        200,
      );
      const archived = await api(instance, 'smtp.archiveServer', { params: { id } });
      assert.ok(body(archived).archivedAt);
      const outcome = await instance.deliver(
        mailDelivery({ aan: [{ adres: 'x@example.nl' }], afzenderId: senderId, onderwerp: 'x', tekst: 'x' }),
        attemptAt(harness),
      );
      assert.equal(outcome.kind === 'skipped' ? outcome.rule : outcome.kind, 'server-archived');
      assert.equal(
        body(await api(instance, 'smtp.listServers')).items.some((s: { id: string }) => s.id === id),
        false,
      );
      assert.equal(
        body(await api(instance, 'smtp.listServers', { query: { includeArchived: 'true' } })).items.some(
          (s: { id: string }) => s.id === id,
        ),
        true,
      );
      assert.equal(body(await api(instance, 'smtp.listSenders', { params: { id } })).items.length, 1);
      assert.equal(
        (await api(instance, 'smtp.addSender', { params: { id }, body: { name: 'n', address: 'n@x.nl' } }))
          .status,
        409,
      );
    });
  });
});

describe('smtp adapter through the whole gateway (HTTP API, ingest, dispatch, error log)', function () {
  this.timeout(60_000);
  let ca: TestCa;
  let partner: SmtpPartner;
  let gw: TestGateway;
  let admin: string;
  let serverId: string;
  let senderId: string;

  const event = (data: Record<string, unknown>) => ({
    specversion: '1.0',
    id: `mail-${Math.random().toString(36).slice(2)}`,
    source: 'urn:nld:oin:00000001234567890000:systeem:e2e',
    type: 'nl.communicatie.email-verzocht',
    datacontenttype: 'application/json',
    data: {
      aan: [{ adres: 'jan@example.nl', naam: 'Jan' }],
      afzenderId: senderId,
      taal: 'nl-NL',
      onderwerp: 'Onderwerp',
      tekst: 'Tekst',
      ...data,
    },
  });

  async function deliveryOf(
    messageId: string,
    until: (status: string) => boolean,
  ): Promise<Record<string, any>> {
    return gw.eventually(async () => {
      const answer = await gw.get(`/v1/messages/${messageId}`);
      const delivery = answer.body?.deliveries?.[0];
      return delivery && until(delivery.status) ? delivery : undefined;
    });
  }

  before(async () => {
    ca = makeTestCa();
    partner = await startSmtpPartner({
      security: 'starttls',
      keyPem: ca.serverKeyPem,
      certPem: ca.serverCertPem,
      auth: AUTH,
    });
    gw = await startGateway({ adapters: [smtpAdapter], env: { KOPPEL_RETRY_SMTP: '50ms,100ms' } });
    admin = await gw.token(['admin']);
  });
  after(async () => {
    await gw?.stop();
    await partner?.close();
  });

  it('creates a server (tested), adds a sender, receives and enters the code', async () => {
    const created = await gw.request('POST', '/v1/mail/servers?test=true', {
      token: admin,
      body: loopbackServer('Loopback', partner, ca, 'starttls'),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.doesNotMatch(JSON.stringify(created.body), new RegExp(AUTH.pass));
    serverId = created.body.id;
    const added = await gw.request('POST', `/v1/mail/servers/${serverId}/senders`, {
      token: admin,
      body: { name: 'Arbodienst Noord', address: 'noreply@arbo-noord.example' },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    senderId = added.body.id;
    const [codeMail] = await partner.waitForMails(1);
    assert.deepEqual(codeMail?.to, ['noreply@arbo-noord.example']);
    const wrong = await gw.request('POST', `/v1/mail/servers/${serverId}/senders/${senderId}/verify`, {
      token: admin,
      body: { code: '000000' === codeFrom(partner, 0) ? '111111' : '000000' },
    });
    assert.equal(wrong.status, 400);
    assert.match(wrong.body.detail, /4 tries left/);
    const verified = await gw.request('POST', `/v1/mail/servers/${serverId}/senders/${senderId}/verify`, {
      token: admin,
      body: { code: codeFrom(partner, 0) },
    });
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.status, 'verified');
  });

  it('refuses a server without TLS with a clear 400', async () => {
    const refused = await gw.request('POST', '/v1/mail/servers', {
      token: admin,
      body: { name: 'Plain', host: 'mail.example.nl', port: 25, security: 'none' },
    });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(refused.body.detail, /without TLS is refused/);
    assert.deepEqual(refused.body.errors, [
      { pointer: '/body/security', detail: 'a mail server without TLS is refused: use starttls or tls' },
    ]);
  });

  it('answers with the catalogued problem types of the smtp adapter', async () => {
    const refused = await gw.request('POST', '/v1/mail/servers', {
      token: admin,
      body: { name: 'Plain', host: 'mail.example.nl', security: 'none' },
    });
    assert.equal(refused.body.type, 'urn:koppel:problem:mail-server-tls-required');
    const wrong = await gw.request('POST', `/v1/mail/servers/${serverId}/senders/${senderId}/verify`, {
      token: admin,
      body: { code: '123456' },
    });
    assert.equal(wrong.status, 409, 'already verified');
    assert.equal(wrong.body.type, 'urn:koppel:problem:conflict');
    const mailsBefore = partner.mails.length;
    const added = await gw.request('POST', `/v1/mail/servers/${serverId}/senders`, {
      token: admin,
      body: { name: 'Tweede', address: 'tweede@arbo-noord.example' },
    });
    await partner.waitForMails(mailsBefore + 1);
    const guess = await gw.request('POST', `/v1/mail/servers/${serverId}/senders/${added.body.id}/verify`, {
      token: admin,
      body: { code: '123456' === codeFrom(partner, partner.mails.length - 1) ? '654321' : '123456' },
    });
    assert.equal(guess.body.type, 'urn:koppel:problem:mail-sender-code-invalid');
  });

  it('delivers a posted e-mail request; the mail carries the message id', async () => {
    partner.mails.length = 0;
    const posted = await gw.post(event({}));
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const delivery = await deliveryOf(posted.body.id, (s) => s === 'delivered');
    assert.equal(delivery.target, serverId);
    const [mail] = await partner.waitForMails(1);
    assert.equal(mail?.parsed.headers.get('x-koppel-message-id'), posted.body.id);
    assert.equal(mail?.parsed.subject, 'Onderwerp');
    assert.deepEqual(mail?.parsed.from?.value, [
      { address: 'noreply@arbo-noord.example', name: 'Arbodienst Noord' },
    ]);
  });

  it('retries a 451 on the adapter policy and delivers on the 250', async () => {
    partner.mails.length = 0;
    partner.script('later@example.nl', [451, 250]);
    const posted = await gw.post(event({ aan: [{ adres: 'later@example.nl' }] }));
    const delivery = await deliveryOf(posted.body.id, (s) => s === 'delivered');
    assert.equal(delivery.attempts, 2);
    assert.equal(partner.mails.length, 1);
  });

  it('puts the refused recipients in the error log; a retry sends only to them', async () => {
    partner.mails.length = 0;
    partner.script('weg@example.nl', [550, 250]);
    const posted = await gw.post(event({ aan: [{ adres: 'hier@example.nl' }, { adres: 'weg@example.nl' }] }));
    await deliveryOf(posted.body.id, (s) => s === 'failed');
    const errors = await gw.get(`/v1/errors?adapter=smtp&kind=rejected`);
    const entry = errors.body.items.find((e: { messageId: string }) => e.messageId === posted.body.id);
    assert.ok(entry, JSON.stringify(errors.body));
    assert.match(entry.reason, /weg@example\.nl \(550/);
    assert.doesNotMatch(entry.reason, /hier@example/);
    assert.deepEqual(
      partner.mails.map((m) => m.to),
      [['hier@example.nl']],
    );
    const retried = await gw.request('POST', `/v1/errors/${entry.id}/retry`, {
      token: await gw.token(['errors:write']),
    });
    assert.ok(retried.status < 300, JSON.stringify(retried.body));
    await deliveryOf(posted.body.id, (s) => s === 'delivered');
    assert.deepEqual(
      partner.mails.map((m) => m.to),
      [['hier@example.nl'], ['weg@example.nl']],
    );
  });

  it('skips a request from an unknown sender, visibly in the error log', async () => {
    const posted = await gw.post(event({ afzenderId: 'onbekend' }));
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const delivery = await deliveryOf(posted.body.id, (s) => s === 'skipped');
    assert.equal(delivery.target, 'default');
    const errors = await gw.get(`/v1/errors?adapter=smtp&kind=skipped`);
    const entry = errors.body.items.find((e: { messageId: string }) => e.messageId === posted.body.id);
    assert.ok(entry);
    assert.match(`${entry.code} ${entry.reason}`, /sender-unknown/);
  });

  it('keeps the password out of every log line', () => {
    assert.doesNotMatch(gw.logs.text(), new RegExp(AUTH.pass));
  });
});

describeAdapterConformance('smtp', async () => {
  const ca = makeTestCa();
  const partner = await startSmtpPartner({
    security: 'starttls',
    keyPem: ca.serverKeyPem,
    certPem: ca.serverCertPem,
    auth: AUTH,
  });
  let serverId = '';
  let senderId = '';
  return {
    adapter: smtpAdapter,
    settings: {},
    async prepare(gw) {
      const admin = await gw.token(['admin']);
      const created = await gw.request('POST', '/v1/mail/servers?test=true', {
        token: admin,
        body: loopbackServer('Conformance', partner, ca, 'starttls'),
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      serverId = created.body.id;
      const added = await gw.request('POST', `/v1/mail/servers/${serverId}/senders`, {
        token: admin,
        body: { name: 'Koppel', address: 'koppel@arbo-noord.example' },
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      senderId = added.body.id;
      await partner.waitForMails(1);
      const verified = await gw.request('POST', `/v1/mail/servers/${serverId}/senders/${senderId}/verify`, {
        token: admin,
        body: { code: codeFrom(partner, 0) },
      });
      assert.equal(verified.status, 200, JSON.stringify(verified.body));
    },
    event: () => ({
      specversion: '1.0',
      id: `conformance-${Math.random().toString(36).slice(2)}`,
      source: 'urn:nld:oin:00000001234567890000:systeem:conformance',
      type: 'nl.communicatie.email-verzocht',
      datacontenttype: 'application/json',
      data: {
        aan: [{ adres: 'ontvanger@example.nl' }],
        afzenderId: senderId,
        taal: 'nl-NL',
        onderwerp: 'Conformance',
        tekst: 'Tekst',
      },
    }),
    partner: {
      attemptedMessageIds: () =>
        partner.dataLog.flatMap((d) => (d.koppelMessageId === undefined ? [] : [d.koppelMessageId])),
      down: () => partner.stop(),
      up: () => partner.start(),
      // Refused at the end of DATA, so that the partner has seen the message (and its id) it says no to.
      refuseNext: () => partner.scriptData([550]),
      openConnections: () => partner.openConnections(),
    },
    secrets: [AUTH.pass],
    get managementPaths() {
      return ['/v1/mail/servers', `/v1/mail/servers/${serverId}`, `/v1/mail/servers/${serverId}/senders`];
    },
    stop: () => partner.close(),
  };
});
