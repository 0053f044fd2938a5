/**
 * Status changes per second through the lopende-zaken adapter (`deliverBatch` as the core calls
 * it on a tick: rules, one ValidateAbonnementen call per 250 BSNs, the zakLk01 mapping, the WUS
 * send with WS-Addressing over mutual TLS, classification, its own store reads and writes) against
 * the same number of bare node-soap `zakLk01` calls (the same WSDL, body, keep-alive mutual-TLS
 * agent and concurrency, nothing else), in the same run, against the same loopback partners.
 * The partner does not validate against the StUF schemas here, so that its XSD check does not
 * dominate both figures.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { pino } from 'pino';
import { Client, createClientAsync } from 'soap';
import type { AdapterContext, Attempt, Delivery } from '../gateway/adapter-kit/index.ts';
import { createLopendeZaken } from '../adapters/lopende-zaken/index.ts';
import { migrations } from '../adapters/lopende-zaken/migrations/0001-checks.ts';
import { KOPPEL_ZAK_LK01_WSDL, type LopendeZakenSettings } from '../adapters/lopende-zaken/settings.ts';
import { createWusHttp, schemaImportResolver, WSA } from '../adapters/lopende-zaken/transport.ts';
import {
  caseStatusChangeToZaakLk01,
  type ZaakStatusGezet,
} from '../mappings/lopende-zaken/case-status-change-to-zaak-lk01.ts';
import { makeTestCa } from '../test/helpers/certs.ts';
import { exampleData } from '../test/helpers/gateway.ts';
import {
  findPartnerContracts,
  startValidatieServer,
  startZakLk01Server,
  lopendeZakenSettingsFor,
} from '../test/helpers/servers/soap-partner.ts';

export interface LopendeZakenBenchResult {
  readonly adapterPerSec: number;
  readonly bareSoapPerSec: number;
  readonly n: number;
}

const CONCURRENCY = 4;
const BATCH = 250;

export async function runLopendeZakenBench(n = 500): Promise<LopendeZakenBenchResult> {
  const contracts = findPartnerContracts();
  if ('missing' in contracts)
    throw new Error(`partner contracts not found (${contracts.missing}); set KOPPEL_PARTNER_CONTRACTS`);
  const ca = makeTestCa();
  const zaken = await startZakLk01Server({ ca, contracts, validate: false });
  const validatie = await startValidatieServer({ ca, contracts });
  const database = new Database(':memory:');
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database }) });
  const runtime = new Map<string, unknown>();
  const settings = lopendeZakenSettingsFor(ca, contracts, zaken, validatie, { sendConcurrency: CONCURRENCY });
  const http = createWusHttp(
    { key: ca.clientKeyPem, cert: ca.clientCertPem, ca: ca.caPem, minVersion: 'TLSv1.2' },
    30_000,
  );
  try {
    for (const migration of migrations) await migration.up(db);
    const instance = await createLopendeZaken({
      settings,
      log: pino({ level: 'silent' }),
      db,
      dialect: 'sqlite',
      runtimeSettings: {
        get: async <T>(key: string) => runtime.get(key) as T | undefined,
        set: async (key: string, value: unknown) => void runtime.set(key, value),
      },
      now: () => new Date(),
      employerPointer: () => undefined,
      publicUrl: 'http://localhost:8080',
    } as unknown as AdapterContext<LopendeZakenSettings>);
    const base = exampleData('nl.zaken.zaak-status-gezet') as ZaakStatusGezet;
    const deliveries: Delivery[] = Array.from({ length: n }, (_, i) => {
      const identificatie = `ZAAK-BENCH-${String(i).padStart(6, '0')}`;
      const data: ZaakStatusGezet = { ...base, zaak: { ...base.zaak, identificatie } };
      const id = randomUUID();
      return {
        id: randomUUID(),
        adapter: 'lopende-zaken',
        target: 'mijnoverheid',
        orderingKey: `${base.zaak.bronorganisatie}:${identificatie}`,
        sequence: 1,
        message: {
          id,
          type: 'nl.zaken.zaak-status-gezet',
          source: 'urn:bench',
          eventId: id,
          receivedAt: new Date(),
          data,
          envelope: {},
        },
      };
    });
    const attempt = (): Attempt => ({
      number: 1,
      now: new Date(),
      signal: new AbortController().signal,
      log: pino({ level: 'silent' }),
      memo: new Map(),
    });

    // Warm-up: WSDL parsing and the first TLS handshakes are not part of either figure.
    await instance.deliverBatch?.(deliveries.slice(0, 1), attempt());
    let started = performance.now();
    for (let i = 1; i < n; i += BATCH) {
      const outcomes = (await instance.deliverBatch?.(deliveries.slice(i, i + BATCH), attempt())) ?? [];
      const notDelivered = outcomes.find((outcome) => outcome.kind !== 'delivered');
      if (notDelivered) throw new Error(`bench delivery not delivered: ${JSON.stringify(notDelivered)}`);
    }
    const adapterPerSec = ((n - 1) * 1000) / (performance.now() - started);
    await instance.close();

    const loaded = await createClientAsync(KOPPEL_ZAK_LK01_WSDL, {
      disableCache: true,
      wsdl_options: {
        overrideImportLocation: schemaImportResolver(KOPPEL_ZAK_LK01_WSDL, contracts.stufFolder),
      },
      request: http.axios,
    });
    const client = new Client(loaded.wsdl, zaken.url, { request: http.axios });
    client.addSoapHeader(
      `<wsa:To xmlns:wsa="${WSA}">${zaken.url}</wsa:To><wsa:Action xmlns:wsa="${WSA}">http://www.egem.nl/StUF/sector/zkn/0310/zakLk01</wsa:Action>` +
        `<wsa:MessageID xmlns:wsa="${WSA}">urn:uuid:${randomUUID()}</wsa:MessageID><wsa:From xmlns:wsa="${WSA}"><wsa:Address>${WSA}/anonymous</wsa:Address></wsa:From>` +
        `<wsa:ReplyTo xmlns:wsa="${WSA}"><wsa:Address>${WSA}/anonymous</wsa:Address></wsa:ReplyTo>`,
    );
    const mapped = caseStatusChangeToZaakLk01(base, {
      referentienummer: randomUUID(),
      tijdstipBericht: new Date().toISOString(),
      zender: { organisatie: settings.oin, applicatie: 'Koppel' },
    });
    if (!mapped.ok) throw new Error(mapped.unmappable);
    const call = (client as unknown as { zakLk01Async(args: unknown): Promise<unknown> }).zakLk01Async.bind(
      client,
    );
    await call({ _xml: mapped.value });
    let next = 1;
    started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) {
          next += 1;
          await call({ _xml: mapped.value });
        }
      }),
    );
    const bareSoapPerSec = ((n - 1) * 1000) / (performance.now() - started);
    return { adapterPerSec: Math.round(adapterPerSec), bareSoapPerSec: Math.round(bareSoapPerSec), n };
  } finally {
    http.agent.destroy();
    await db.destroy();
    await zaken.close();
    await validatie.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runLopendeZakenBench(Number(process.argv[2] ?? 500));
  console.log(
    `lopende-zaken: ${result.adapterPerSec} status changes/s through the adapter, ${result.bareSoapPerSec}/s bare node-soap (n=${result.n}, mutual TLS, concurrency ${CONCURRENCY})`,
  );
}
