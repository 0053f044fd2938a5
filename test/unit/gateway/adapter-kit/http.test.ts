import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  classifyHttp,
  createGuardedHttp,
  EVIDENCE_EXCERPT,
  parseRetryAfter,
  type HttpFailure,
  type HttpResponse,
} from '../../../../gateway/adapter-kit/http.ts';
import type { Outcome } from '../../../../gateway/adapter-kit/outcome.ts';
import { createOutboundGuard } from '../../../../gateway/security/outbound-url-guard.ts';

const NOW = new Date('2026-01-05T10:00:00.000Z');
const REQUEST = { summary: 'POST https://partner.example/hook', body: '{"id":"m1"}' };

const response = (
  status: number,
  headers: HttpResponse['headers'] = {},
  body = `answer ${status}`,
): HttpResponse => ({
  kind: 'response',
  status,
  headers,
  body,
  durationMs: 3,
});
const failure = (kind: HttpFailure['failure'], message = `${kind} happened`): HttpFailure => ({
  kind: 'failure',
  failure: kind,
  message,
});

describe('adapter-kit/http', () => {
  describe('classifyHttp', () => {
    const table: Array<[number, Outcome['kind'], string | undefined]> = [
      [200, 'delivered', undefined],
      [201, 'delivered', undefined],
      [202, 'delivered', undefined],
      [204, 'delivered', undefined],
      [299, 'delivered', undefined],
      [408, 'transient', undefined],
      [425, 'transient', undefined],
      [429, 'transient', undefined],
      [500, 'transient', undefined],
      [502, 'transient', undefined],
      [503, 'transient', undefined],
      [504, 'transient', undefined],
      [599, 'transient', undefined],
      [400, 'rejected', 'http-400'],
      [401, 'rejected', 'http-401'],
      [403, 'rejected', 'http-403'],
      [404, 'rejected', 'http-404'],
      [409, 'rejected', 'http-409'],
      [410, 'rejected', 'http-410'],
      [413, 'rejected', 'http-413'],
      [422, 'rejected', 'http-422'],
      [301, 'rejected', 'http-301'],
      [302, 'rejected', 'http-302'],
      [304, 'rejected', 'http-304'],
      [307, 'rejected', 'http-307'],
      [100, 'rejected', 'http-100'],
    ];
    for (const [status, kind, code] of table) {
      it(`HTTP ${status} → ${kind}${code ? ` (${code})` : ''}`, () => {
        const outcome = classifyHttp(response(status), REQUEST, NOW);
        assert.equal(outcome.kind, kind);
        if (outcome.kind === 'rejected') {
          assert.equal(outcome.code, code);
          assert.equal(outcome.reason, `HTTP ${status}`);
        }
        if (outcome.kind === 'transient') {
          assert.equal(outcome.reason, `HTTP ${status}`);
          assert.equal(outcome.retryAfterMs, undefined, 'no Retry-After header, no retryAfterMs');
        }
        assert.deepEqual((outcome as { evidence?: unknown }).evidence, {
          request: REQUEST,
          response: { status, body: `answer ${status}` },
        });
      });
    }

    describe('Retry-After', () => {
      const cases: Array<[number, string | string[], number | undefined]> = [
        [429, '120', 120_000],
        [503, '0', 0],
        [503, ' 30 ', 30_000],
        [429, 'Mon, 05 Jan 2026 10:01:00 GMT', 60_000],
        [503, 'Mon, 05 Jan 2026 09:00:00 GMT', 0], // in the past: now
        [503, ['7', '9'], 7000],
        [503, 'soon', undefined],
        [503, '', undefined],
      ];
      for (const [status, header, expected] of cases) {
        it(`${status} with Retry-After ${JSON.stringify(header)} → ${String(expected)}`, () => {
          const outcome = classifyHttp(response(status, { 'retry-after': header }), REQUEST, NOW);
          assert.equal(outcome.kind, 'transient');
          assert.equal((outcome as { retryAfterMs?: number }).retryAfterMs, expected);
        });
      }

      // Not RFC 9110 forms; Date.parse reads some of them as dates in the past, which must never delay a retry.
      for (const header of ['-5', '1.5', 'tomorrow', '0x10', 'Mon, 05 Jan 1970 10:01:00 GMT']) {
        it(`503 with invalid Retry-After ${JSON.stringify(header)} never postpones the retry`, () => {
          const outcome = classifyHttp(response(503, { 'retry-after': header }), REQUEST, NOW);
          assert.equal(outcome.kind, 'transient');
          const retryAfterMs = (outcome as { retryAfterMs?: number }).retryAfterMs;
          assert.ok(retryAfterMs === undefined || retryAfterMs === 0, `got ${retryAfterMs}`);
        });
      }

      it('is not passed on for a rejected answer', () => {
        const outcome = classifyHttp(response(400, { 'retry-after': '120' }), REQUEST, NOW);
        assert.equal(outcome.kind, 'rejected');
        assert.equal((outcome as { retryAfterMs?: number }).retryAfterMs, undefined);
      });

      it('parseRetryAfter reads seconds and HTTP dates, undefined when absent', () => {
        assert.equal(parseRetryAfter(undefined, NOW), undefined);
        assert.equal(parseRetryAfter('3', NOW), 3000);
        assert.equal(parseRetryAfter('Mon, 05 Jan 2026 10:00:10 GMT', NOW), 10_000);
      });
    });

    it('keeps only an excerpt of a long answer as evidence', () => {
      const outcome = classifyHttp(response(400, {}, 'x'.repeat(100_000)), REQUEST, NOW);
      assert.equal(outcome.kind, 'rejected');
      assert.equal(outcome.evidence.response?.body?.length, EVIDENCE_EXCERPT);
    });

    it('carries no request evidence when none was given', () => {
      const outcome = classifyHttp(response(200), undefined, NOW);
      assert.deepEqual(outcome, {
        kind: 'delivered',
        evidence: { response: { status: 200, body: 'answer 200' } },
      });
    });

    const failures: Array<[HttpFailure['failure'], Outcome['kind']]> = [
      ['refused', 'skipped'],
      ['timeout', 'transient'],
      ['connection', 'transient'],
      ['aborted', 'transient'],
    ];
    for (const [kind, expected] of failures) {
      it(`failure ${kind} → ${expected}, with the failure as the response status`, () => {
        const outcome = classifyHttp(failure(kind), REQUEST, NOW);
        assert.equal(outcome.kind, expected);
        if (outcome.kind === 'skipped') {
          assert.equal(outcome.rule, 'outbound-url-refused');
          assert.equal(outcome.detail, 'refused happened');
        }
        if (outcome.kind === 'transient') assert.equal(outcome.reason, `${kind} happened`);
        assert.deepEqual((outcome as { evidence?: unknown }).evidence, {
          request: REQUEST,
          response: { status: kind },
        });
      });
    }
  });

  describe('createGuardedHttp against loopback', () => {
    let server: Server;
    let base: string;
    const sockets = new Set<Socket>();
    const http = createGuardedHttp(createOutboundGuard(['127.0.0.0/8']), 2000);
    const guarded = createGuardedHttp(createOutboundGuard([]), 2000);

    before(async () => {
      server = createServer((req, res) => {
        if (req.url === '/silent') return; // never answers: the timeout must fire
        if (req.url === '/redirect') {
          res.writeHead(302, { location: '/ok' });
          return res.end();
        }
        res.writeHead(req.url === '/busy' ? 503 : 200, req.url === '/busy' ? { 'retry-after': '2' } : {});
        res.end(req.url === '/big' ? 'y'.repeat(200_000) : 'fine');
      });
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await http.close();
      await guarded.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('a 2xx is delivered', async () => {
      const outcome = classifyHttp(
        await http.send({ method: 'POST', url: `${base}/ok`, body: '{}' }),
        REQUEST,
        NOW,
      );
      assert.equal(outcome.kind, 'delivered');
    });

    it('a 503 with Retry-After is transient with the delay', async () => {
      const outcome = classifyHttp(await http.send({ method: 'POST', url: `${base}/busy` }), REQUEST, NOW);
      assert.deepEqual(
        [outcome.kind, (outcome as { retryAfterMs?: number }).retryAfterMs],
        ['transient', 2000],
      );
    });

    it('does not follow a redirect: rejected', async () => {
      const outcome = classifyHttp(
        await http.send({ method: 'POST', url: `${base}/redirect` }),
        REQUEST,
        NOW,
      );
      assert.equal(outcome.kind, 'rejected');
    });

    it('a partner that never answers is a timeout, transient', async () => {
      const result = await http.send({ method: 'POST', url: `${base}/silent`, timeoutMs: 200 });
      assert.equal(result.kind === 'failure' && result.failure, 'timeout');
      assert.equal(classifyHttp(result, REQUEST, NOW).kind, 'transient');
    });

    it('a closed port is a connection failure, transient', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const result = await http.send({ method: 'POST', url: `http://127.0.0.1:${port}/x` });
      assert.equal(result.kind === 'failure' && result.failure, 'connection', JSON.stringify(result));
      assert.equal(classifyHttp(result, REQUEST, NOW).kind, 'transient');
    });

    it('a loopback URL the guard does not allow is refused, skipped, and never sent', async () => {
      const result = await guarded.send({ method: 'POST', url: `${base}/ok` });
      assert.equal(result.kind === 'failure' && result.failure, 'refused', JSON.stringify(result));
      assert.equal(classifyHttp(result, REQUEST, NOW).kind, 'skipped');
    });

    it('an aborted request is aborted, not a timeout', async () => {
      const controller = new AbortController();
      const pending = http.send({
        method: 'POST',
        url: `${base}/silent`,
        signal: controller.signal,
        timeoutMs: 5000,
      });
      setTimeout(() => controller.abort(), 50);
      const result = await pending;
      assert.equal(result.kind === 'failure' && result.failure, 'aborted', JSON.stringify(result));
    });

    it('reads at most 64 KiB of an answer', async () => {
      const result = await http.send({ method: 'GET', url: `${base}/big` });
      assert.equal(result.kind, 'response');
      assert.equal((result as HttpResponse).body.length, 64 * 1024);
    });
  });
});
