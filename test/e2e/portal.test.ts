import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { generate } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { smtpAdapter } from '../../adapters/smtp/index.ts';
import { webhooks } from '../../adapters/webhooks/index.ts';
import { buildPortal, writePortal } from '../../gateway/portal/build.ts';
import { PORTAL_CSP } from '../../gateway/portal/serve.ts';
import { accountChangedEvent, exampleData, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startHttpPartner, type HttpPartner } from '../helpers/servers/http-partner.ts';
import { requireServer } from '../helpers/servers/require-server.ts';
import { testHttpAdapter } from '../helpers/test-adapter.ts';
import { foreignRequests, launchChromium, screenshot, unnamedControls } from './helpers.ts';

const README_SCREENSHOT = new URL('../../docs/images/portal-error-log.png', import.meta.url).pathname;
const SOURCE = 'urn:nld:oin:00000001823288444000:systeem:test';

interface ErrorEntry {
  id: string;
  kind: string;
  messageId: string;
  deliveryId: string;
  resolvedAt: string | null;
  resolvedNote: string | null;
}

/** The partner answers by a marker in the body: REJECT-… → 400, DOWN-… → 503, until the test heals it. */
function markerPartner(partner: HttpPartner, healed: Set<string>): void {
  partner.respondWith((request) => {
    const marker = /(REJECT|DOWN)-[0-9]+/.exec(request.text)?.[0];
    if (!marker || healed.has(marker)) return { status: 200, body: 'ok' };
    return marker.startsWith('REJECT')
      ? {
          status: 400,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            error: 'invalid_account',
            detail: `Account ${marker} is unknown at the partner`,
          }),
        }
      : { status: 503, body: `partner down (${marker})` };
  });
}

const accountEvent = (accountId: string, overrides: Record<string, unknown> = {}) =>
  accountChangedEvent({
    id: `evt-${accountId}`,
    data: { ...(exampleData('nl.accounts.account-gewijzigd') as object), accountId },
    ...overrides,
  });

describe('e2e: admin portal in Chromium', function () {
  this.timeout(90_000);
  const browser = requireServer<Browser>('Chromium', launchChromium);
  let gw: TestGateway;
  let partner: HttpPartner;
  const healed = new Set<string>();
  const ids: Record<string, string> = {};
  let context: BrowserContext;
  let page: Page;
  let clientId = '';
  const consoleErrors: string[] = [];
  let foreign: string[] = [];

  const errors = async (query = ''): Promise<ErrorEntry[]> =>
    (await gw.get<{ items: ErrorEntry[] }>(`/v1/errors?limit=200${query}`)).body.items;
  const deliveryStatus = async (messageId: string): Promise<string> =>
    (await gw.get<{ deliveries: Array<{ status: string }> }>(`/v1/messages/${messageId}`)).body.deliveries[0]
      ?.status ?? 'none';
  const portal = (hash = '') => `${gw.baseUrl}/portal${hash}`;

  /** Signs in through the form with a fresh account, by keyboard only (TOTP codes are single-use per account). */
  async function signIn(target: Page): Promise<string> {
    const account = await gw.account();
    await target.getByRole('heading', { name: 'Sign in' }).waitFor();
    // The client id field has focus on arrival; Tab walks the form in order; Enter submits.
    assert.equal(await target.evaluate(() => document.activeElement?.id), 'client-id');
    await target.keyboard.type(account.clientId);
    await target.keyboard.press('Tab');
    await target.keyboard.type(account.apiToken);
    await target.keyboard.press('Tab');
    await target.keyboard.type(await generate({ secret: account.totpSecret }));
    await target.keyboard.press('Enter');
    await target.getByRole('button', { name: 'Sign out' }).waitFor();
    return account.clientId;
  }

  before(async function () {
    writePortal(await buildPortal());
    partner = await startHttpPartner('/accounts');
    markerPartner(partner, healed);
    gw = await startGateway({
      adapters: [testHttpAdapter()],
      adapterSettings: { 'test-http': { urls: [partner.url] } },
      env: { KOPPEL_RETRY_TEST_HTTP: '50ms,50ms' },
    });
    // Real failed deliveries: three rejected by the partner, one out of retries, one crash in the adapter.
    for (const name of ['REJECT-1', 'REJECT-2', 'REJECT-3', 'DOWN-1', 'OK-1'])
      ids[name] = (await gw.post(accountEvent(name))).body.id;
    ids.crash = (await gw.post(accountEvent('CRASH-1', { subject: 'crash' }))).body.id;
    await gw.eventually(async () => {
      const statuses = await Promise.all(Object.values(ids).map(deliveryStatus));
      return statuses.every((s) => s === 'delivered' || s === 'failed') ? true : undefined;
    }, 20_000);
    const kinds = (await errors()).map((e) => e.kind);
    assert.equal(kinds.filter((k) => k === 'rejected').length, 3);
    assert.equal(kinds.filter((k) => k === 'exhausted').length, 1);
    assert.ok(kinds.includes('internal'));

    context = await browser().newContext({ locale: 'en-GB', viewport: { width: 1366, height: 820 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    foreign = foreignRequests(page, gw.baseUrl);
  });

  // The steps build on each other: after a failure the rest would only time out.
  let broken = false;
  beforeEach(function () {
    if (broken) this.skip();
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    broken = true;
    if (page) await screenshot(page, 'failed').catch(() => undefined);
  });

  after(async function () {
    await context?.close();
    await context?.browser()?.close();
    await gw?.stop();
    await partner?.stop();
  });

  it('serves the portal with a strict Content-Security-Policy and no external assets', async function () {
    const answer = await page.goto(portal());
    assert.equal(answer?.status(), 200);
    const headers = answer?.headers() ?? {};
    assert.equal(headers['content-security-policy'], PORTAL_CSP);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'no-referrer');
    const html = await answer?.text();
    const assets = [...(html ?? '').matchAll(/(?:src|href)="(\/portal\/assets\/[^"]+)"/g)].map(
      (m) => m[1] ?? '',
    );
    assert.equal(assets.length, 2, html);
    for (const asset of assets) {
      const response = await gw.request('GET', asset);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('cache-control') ?? '', /immutable/);
    }
    assert.equal((await gw.request('GET', '/portal/assets/nothing.js')).status, 404);
  });

  it('signs in with client id, API token and TOTP code, keyboard only, keeping the token out of storage', async function () {
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.deepEqual(await unnamedControls(page), []);
    await screenshot(page, '01-sign-in');

    // A wrong code is refused with a message, and the form stays usable.
    const account = await gw.account();
    await page.getByLabel('Client id').fill(account.clientId);
    await page.getByLabel('API token').fill(account.apiToken);
    await page.getByLabel('Authenticator code').fill('000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Sign-in refused').waitFor();
    await page.getByLabel('Client id').fill('');
    await page.getByLabel('API token').fill('');
    await page.getByLabel('Client id').focus();

    clientId = await signIn(page);
    await page.getByRole('heading', { name: 'Error log', level: 1 }).waitFor();
    assert.equal(
      await page.evaluate(() => document.activeElement?.tagName),
      'H1',
      'focus moves to the new screen',
    );
    const stored = await page.evaluate(() =>
      JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }),
    );
    assert.doesNotMatch(stored, /eyJ/, 'no JWT in storage or cookies');
  });

  it('shows the error log, newest first, with time, adapter, kind, partner status and reason', async function () {
    const rows = page.locator('table.errors-table tbody tr');
    await rows.first().waitFor();
    const expected = await errors('&resolved=false');
    assert.equal(await rows.count(), expected.length);
    const first = await rows.first().locator('td').allInnerTexts();
    assert.equal(first[1], 'test-http');
    const rejectedRow = rows.filter({ hasText: 'REJECT-3' }).first();
    const cells = await rejectedRow.locator('td').allInnerTexts();
    assert.equal(cells[2], 'rejected');
    assert.equal(cells[3], '400');
    assert.deepEqual(await unnamedControls(page), []);
    await screenshot(page, '02-error-log');
    if (process.env.KOPPEL_UPDATE_README_SCREENSHOT === '1') {
      mkdirSync(dirname(README_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: README_SCREENSHOT, fullPage: false });
    }
  });

  it('filters the error log, with the filter in a URL that another admin can open', async function () {
    await page.getByLabel('Kind').selectOption('rejected');
    await page.getByLabel('Text in reason or answer').fill('unknown at the partner');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.waitForFunction(() => location.hash.includes('kind=rejected'));
    const rows = page.locator('table.errors-table tbody tr');
    await page.getByText('3 entries.').waitFor();
    assert.deepEqual(
      (await rows.locator('td:nth-child(3)').allInnerTexts()).map((t) => t.trim()),
      ['rejected', 'rejected', 'rejected'],
    );
    await screenshot(page, '03-error-log-filtered');
    const shared = page.url();
    assert.match(shared, /#\/errors\?kind=rejected&q=unknown/);

    // Another admin opens the shared link: sign-in first, then the same filtered view.
    const other = await browser().newContext({ locale: 'en-GB' });
    const otherPage = await other.newPage();
    await otherPage.goto(shared);
    await signIn(otherPage);
    await otherPage.getByText('3 entries.').waitFor();
    assert.equal(await otherPage.getByLabel('Kind').inputValue(), 'rejected');
    assert.equal(
      await otherPage.getByLabel('Text in reason or answer').inputValue(),
      'unknown at the partner',
    );
    await other.close();

    // A time range after every entry leaves nothing, and the From field shows it in local time.
    const future = new Date(Date.now() + 3_600_000);
    await page.goto(portal(`#/errors?since=${encodeURIComponent(future.toISOString())}`));
    await page.getByText('No entries match this filter.').waitFor();
    assert.equal(
      new Date(await page.getByLabel('From').inputValue()).getTime(),
      Math.floor(future.getTime() / 60_000) * 60_000,
    );

    await page.goto(shared);
    await page.getByText('3 entries.').waitFor();
  });

  it('opens an entry with the canonical message and every attempt, retries it and sees it delivered', async function () {
    const entry = (await errors('&kind=rejected')).find((e) => e.messageId === ids['REJECT-1']);
    assert.ok(entry);
    const link = page.locator(`a[href*="${entry.id}"]`);
    await link.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Rejected in test-http', level: 1 }).waitFor();
    assert.match(
      await page.locator('section[aria-labelledby="message-title"] pre').innerText(),
      /"accountId": "REJECT-1"/,
    );
    const attempts = page.locator('ol.timeline > li');
    assert.equal(await attempts.count(), 1);
    const attempt = await attempts.first().innerText();
    assert.match(attempt, /POST http:\/\/127\.0\.0\.1:\d+\/accounts/);
    assert.match(attempt, /400/);
    assert.match(
      await page.locator('section[aria-labelledby="entry-title"]').innerText(),
      /Account REJECT-1 is unknown at the partner/,
    );
    assert.deepEqual(await unnamedControls(page), []);
    await screenshot(page, '04-error-detail');

    healed.add('REJECT-1');
    const before = partner.received.length;
    await page.getByRole('button', { name: 'Retry now' }).click();
    await page.getByText('The delivery is now delivered.').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('.delivery-status').innerText(), 'delivered');
    assert.equal(await attempts.count(), 2);
    const retried = partner.received.slice(before).filter((r) => r.text.includes('REJECT-1'));
    assert.equal(retried.length, 1);
    assert.equal(retried[0]?.headers['x-koppel-message-id'], ids['REJECT-1']);
    await screenshot(page, '05-error-detail-delivered');
  });

  it('retries every entry of the current filter in bulk after confirming how many it touches', async function () {
    await page.getByRole('link', { name: '← Back to the error log' }).click();
    await page.getByText('2 entries.').waitFor();
    healed.add('REJECT-2');
    healed.add('REJECT-3');
    await page.getByRole('button', { name: 'Retry all matching…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /2 open entries match the current filter/);
    await screenshot(page, '06-bulk-retry-confirm', false);
    // Escape cancels: nothing is retried.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await deliveryStatus(ids['REJECT-2'] ?? ''), 'failed');

    await page.getByRole('button', { name: 'Retry all matching…' }).click();
    await page.getByRole('button', { name: 'Retry 2 entries' }).click();
    await page.getByText('2 deliveries are due again (2 entries matched).').waitFor();
    await page.getByText('No entries match this filter.').waitFor();
    await gw.eventually(async () =>
      (await deliveryStatus(ids['REJECT-2'] ?? '')) === 'delivered' &&
      (await deliveryStatus(ids['REJECT-3'] ?? '')) === 'delivered'
        ? true
        : undefined,
    );
  });

  it('resolves an entry with a note', async function () {
    await page.goto(portal('#/errors?kind=exhausted'));
    const row = page.locator('table.errors-table tbody tr').first();
    await row.waitFor();
    assert.equal((await row.locator('td').nth(2).innerText()).trim(), 'out of retries');
    await row.locator('a').click();
    await page.getByRole('heading', { name: 'Out of retries in test-http' }).waitFor();
    await page.getByRole('button', { name: 'Resolve with note' }).click();
    await page.getByText('Write a note before resolving.').waitFor();
    await page
      .getByLabel('Note', { exact: true })
      .fill('Partner restored the account by hand; no resend needed.');
    await page.getByRole('button', { name: 'Resolve with note' }).click();
    await page.getByText('The entry is resolved.').waitFor();
    assert.match(
      await page.locator('section[aria-labelledby="entry-title"]').innerText(),
      /Partner restored the account by hand/,
    );
    await screenshot(page, '07-error-resolved');
    const entry = (await errors('&kind=exhausted'))[0];
    assert.equal(entry?.resolvedNote, 'Partner restored the account by hand; no resend needed.');
    assert.ok(entry?.resolvedAt);
  });

  it('follows a message trace by Koppel id and by source and sender id', async function () {
    await page.getByRole('link', { name: ids['DOWN-1'] ?? '' }).click();
    await page.getByRole('heading', { name: 'Message trace', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Message nl.accounts.account-gewijzigd' }).waitFor();
    const timeline = page.locator('ol.timeline > li');
    assert.equal(await timeline.count(), 3, 'three attempts of the delivery that ran out of retries');
    assert.deepEqual(
      (await timeline.locator('.badge').allInnerTexts()).map((t) => t.trim()),
      ['temporary failure', 'temporary failure', 'temporary failure'],
    );
    assert.match(await page.locator('section.delivery h2').innerText(), /failed/);

    await page.getByRole('textbox', { name: 'Source' }).fill(SOURCE);
    await page.getByRole('textbox', { name: 'Sender’s id' }).fill('evt-REJECT-1');
    await page.getByRole('button', { name: 'Find message' }).nth(1).click();
    await page.waitForFunction(() => location.hash.includes('eventId=evt-REJECT-1'));
    await page.locator('section.delivery h2', { hasText: 'delivered' }).waitFor();
    assert.deepEqual(
      (await page.locator('ol.timeline > li .badge').allInnerTexts()).map((t) => t.trim()),
      ['rejected', 'delivered'],
    );
    assert.match(
      await page.locator('dl.details').first().innerText(),
      new RegExp(ids['REJECT-1'] ?? 'missing'),
    );
    assert.deepEqual(await unnamedControls(page), []);
    await screenshot(page, '08-message-trace');
  });

  it('shows each adapter with health, retry policy, counts and a 24-hour chart, refreshed live', async function () {
    await page.getByRole('link', { name: 'Adapters', exact: true }).click();
    const card = page.locator('section.adapter[data-adapter="test-http"]');
    await card.waitFor();
    const text = await card.innerText();
    assert.match(text, /partner reachable/);
    assert.match(text, /50 ms, 50 ms, then fail/);
    assert.match(text, /the environment/);
    const delivered = card.locator('.count-delivered .count-value');
    const before = Number(await delivered.innerText());
    assert.equal(before, 4, 'OK-1 and the three healed REJECT deliveries');
    assert.ok((await card.locator('svg rect.bar-delivered').count()) >= 1);
    assert.match((await card.locator('svg').getAttribute('aria-label')) ?? '', /4 delivered, 2 failed/);

    await gw.post(accountEvent('OK-2'));
    await page.waitForFunction(
      (n) =>
        document.querySelector('section.adapter[data-adapter="test-http"] .count-delivered .count-value')
          ?.textContent === String(n),
      before + 1,
      {
        timeout: 15_000,
      },
    );
    await screenshot(page, '09-adapters');
  });

  it('switches to Dutch and remembers the language, not the session', async function () {
    await page.getByLabel('Language').selectOption('nl');
    await page.getByRole('link', { name: 'Foutenlog', exact: true }).click();
    await page.getByRole('heading', { name: 'Foutenlog', level: 1 }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'nl');
    assert.deepEqual(await page.evaluate(() => ({ ...localStorage })), { 'koppel.portal.language': 'nl' });
    await page.getByLabel('Stand').selectOption('all');
    await page.getByRole('button', { name: 'Filter toepassen' }).click();
    await page.locator('table.errors-table tbody tr.resolved').first().waitFor();
    await screenshot(page, '10-error-log-nl');
    await page.getByLabel('Taal').selectOption('en');
  });

  it('keeps the skip link and the controls reachable by keyboard', async function () {
    // A reload ends the in-memory session: sign in again.
    await page.reload();
    await signIn(page);
    await page.getByRole('heading', { name: 'Error log', level: 1 }).waitFor();
    // The skip link comes before the menu and shows itself when it has focus.
    await page.getByRole('link', { name: 'Error log', exact: true }).focus();
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    const box = await page.getByRole('link', { name: 'Skip to content' }).boundingBox();
    assert.ok(box && box.y >= 0, 'visible when focused');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    await page.keyboard.press('Tab');
    const next = await page.evaluate(() => document.activeElement?.textContent ?? '');
    assert.equal(next, 'Retry all matching…', 'the first control of the screen follows');
  });

  it('returns to sign-in when the token stops working, and on sign-out', async function () {
    const admin = await gw.token();
    assert.equal(
      (await gw.request('POST', `/v1/accounts/${encodeURIComponent(clientId)}/disable`, { token: admin }))
        .status,
      200,
    );
    // The previous session's client was disabled too; the current one is the last sign-in's.
    const current = (await page.locator('.who').innerText()).trim();
    assert.equal(
      (await gw.request('POST', `/v1/accounts/${encodeURIComponent(current)}/disable`, { token: admin }))
        .status,
      200,
    );
    await page.getByRole('link', { name: 'Adapters', exact: true }).click();
    await page.getByText('Your session has ended. Sign in again to continue.').waitFor();

    await signIn(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    await page.goto(portal('#/adapters'));
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  it('ends the session when the token expires', async function () {
    const expiring = await browser().newContext({ locale: 'en-GB' });
    const expiringPage = await expiring.newPage();
    await expiringPage.clock.install();
    await expiringPage.goto(portal('#/errors'));
    await signIn(expiringPage);
    await expiringPage.clock.fastForward('15:01');
    await expiringPage.getByText('Your session has ended. Sign in again to continue.').waitFor();
    await expiring.close();
  });

  it('made no request elsewhere and broke no Content-Security-Policy rule', function () {
    assert.deepEqual(foreign, []);
    assert.deepEqual(
      consoleErrors.filter((m) => /Content Security Policy|Refused to/i.test(m)),
      [],
    );
  });
});

describe('e2e: admin portal adapter screens in Chromium', function () {
  this.timeout(90_000);
  const browser = requireServer<Browser>('Chromium', launchChromium);
  let gw: TestGateway;
  let receiver: HttpPartner;
  let context: BrowserContext;
  let page: Page;

  before(async function () {
    writePortal(await buildPortal());
    receiver = await startHttpPartner('/webhook');
    gw = await startGateway({ adapters: [webhooks, smtpAdapter] });
    const admin = await gw.token();
    const subscriber = await gw.account(['messages:read']);
    const create = (url: string, description: string) =>
      gw.request('POST', '/v1/webhooks/recipients', {
        token: admin,
        body: { url, topics: ['Accounts.Update'], account: subscriber.clientId, description },
      });
    const kept = await create(receiver.url, 'Payroll system');
    assert.equal(kept.status, 201, JSON.stringify(kept.body));
    const gone = await create(`${receiver.url}?old=1`, 'Old CRM');
    assert.equal(gone.status, 201, JSON.stringify(gone.body));
    assert.equal(
      (await gw.request('DELETE', `/v1/webhooks/recipients/${gone.body.id}`, { token: admin })).status,
      204,
    );
    await gw.post(accountEvent('WEBHOOK-1'));
    await receiver.waitFor(1);

    const server = (name: string) =>
      gw.request('POST', '/v1/mail/servers', {
        token: admin,
        body: { name, type: 'generic', host: 'smtp.example.org', port: 587, security: 'starttls' },
      });
    assert.equal(await server('Relay').then((a) => a.status), 201);
    const old = await server('Old relay');
    assert.equal(old.status, 201, JSON.stringify(old.body));
    assert.ok(
      [200, 204].includes(
        (await gw.request('POST', `/v1/mail/servers/${old.body.id}/archive`, { token: admin })).status,
      ),
    );

    context = await browser().newContext({ locale: 'en-GB', viewport: { width: 1366, height: 820 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    await page.goto(`${gw.baseUrl}/portal#/webhooks`);
    const account = await gw.account();
    await page.getByLabel('Client id').fill(account.clientId);
    await page.getByLabel('API token').fill(account.apiToken);
    await page.getByLabel('Authenticator code').fill(await generate({ secret: account.totpSecret }));
    await page.getByRole('button', { name: 'Sign in' }).click();
  });

  after(async function () {
    await context?.close();
    await context?.browser()?.close();
    await gw?.stop();
    await receiver?.stop();
  });

  it('lists webhook recipients, deleted ones greyed out, and the log with request bodies', async function () {
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    assert.equal(
      await page.getByRole('link', { name: 'Lopende Zaken' }).count(),
      0,
      'only the enabled adapters have a screen',
    );
    const deleted = page.locator('tr.deleted', { hasText: 'Old CRM' });
    await deleted.waitFor();
    assert.match(await deleted.innerText(), /deleted/);
    assert.match(await page.locator('tr:not(.deleted)', { hasText: 'Payroll system' }).innerText(), /active/);
    const logRow = page.locator('section[aria-labelledby="w-log"] tbody tr').first();
    await logRow.getByText('Show body').click();
    assert.match(await logRow.locator('pre').innerText(), /WEBHOOK-1/);
    assert.deepEqual(await unnamedControls(page), []);
    await screenshot(page, '11-webhooks');
  });

  it('lists mail servers with their senders, archived ones greyed out', async function () {
    await page.getByRole('link', { name: 'Mail servers' }).click();
    await page.getByRole('heading', { name: 'Mail servers', level: 1 }).waitFor();
    assert.match(await page.locator('section.card.deleted').innerText(), /Old relay[\s\S]*archived/);
    assert.match(
      await page.locator('section.card:not(.deleted)', { hasText: 'Relay' }).innerText(),
      /in use/,
    );
    assert.deepEqual(await unnamedControls(page), []);
    await screenshot(page, '12-mail-servers');
  });
});
