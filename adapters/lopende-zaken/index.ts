import {
  delivered,
  groupBy,
  minutes,
  rejected,
  skipped,
  transient,
  type AdapterContext,
  type AdapterDefinition,
  type AdapterInstance,
  type Attempt,
  type CanonicalMessage,
  type Delivery,
  type DeliveryTarget,
  type Evidence,
  type Outcome,
  type RetryPolicy,
} from '../../gateway/adapter-kit/index.ts';
import {
  caseStatusChangeToZaakLk01,
  type ZaakStatusGezet,
} from '../../mappings/lopende-zaken/case-status-change-to-zaak-lk01.ts';
import { checkReachability, type Reachability } from './account-check.ts';
import { withAlert } from './alert.ts';
import { createManagement, readRuntimeSettings } from './management.ts';
import { migrations } from './migrations/0001-checks.ts';
import { sendingRuleFor } from './rules.ts';
import { resolveSettings, settingsSchema, type LopendeZakenSettings } from './settings.ts';
import { classifySoap, type SoapExchange } from './soap-fault.ts';
import { createWusHttp, openWusService, probeTls, type WusService } from './transport.ts';

/**
 * MijnOverheid Lopende Zaken: case status changes as StUF-ZKN `zakLk01` over Digikoppeling WUS.
 *
 * The core hands deliveries over only when the periodic tick fires (`dispatch.mode: 'periodic'`,
 * interval from the run-time settings), in ordering order, through `deliverBatch`. One run:
 * 1. rule 1: a status that does not inform the initiator, or a non-authentic BSN or one failing
 *    the elfproef, is `skipped`;
 * 2. rule 3: changes without a stored verdict are checked with `ValidateAbonnementen`, at most
 *    250 BSNs a call. The first *answered* check after the change is the one that counts and is
 *    stored: `isBerichtSturen=false` skips the change for good, even if a later check would say
 *    yes; a check that fails transiently decides nothing, so the next run's check counts;
 * 3. rule 6: changes of one zaak go one after the other, and once one waits (transient) the later
 *    ones of that zaak in the same run wait too; the core does not hand out a later one while an
 *    earlier one is pending;
 * 4. rules 4 and 5: each answer is classified by `soap-fault.ts`: unreachable → transient, kept
 *    for the next run without limit, the partner's "no" → rejected. A change still waiting
 *    `alertAfterMs` after Koppel accepted it carries an alert: the core's error log holds one
 *    `alert` entry per change and resolves it when the change is sent, rejected or skipped.
 */

/**
 * A transient change becomes due again after a minute and is sent by the first run after that:
 * the run's interval, not this delay, paces Lopende Zaken. Never exhausted (rule 4).
 */
export const LOPENDE_ZAKEN_RETRY: RetryPolicy = {
  delaysMs: [minutes(1)],
  afterLast: 'repeat-last',
  jitter: 0,
  retryAfter: 'ignore',
};

export const TYPE = 'nl.zaken.zaak-status-gezet';
const TARGET = 'mijnoverheid';

export const lopendeZaken: AdapterDefinition<LopendeZakenSettings> = {
  name: 'lopende-zaken',
  accepts: [TYPE],
  settingsSchema,
  retry: LOPENDE_ZAKEN_RETRY,
  // One attempt is a whole run: the account checks and up to 250 sends.
  attemptTimeoutMs: minutes(10),
  migrations,
  create: createLopendeZaken,
};

interface Pending {
  readonly index: number;
  readonly delivery: Delivery;
  readonly change: ZaakStatusGezet;
  readonly xml: string;
}

export async function createLopendeZaken(
  ctx: AdapterContext<LopendeZakenSettings>,
): Promise<AdapterInstance> {
  const settings = resolveSettings(ctx.settings);
  const http = createWusHttp(settings.tls, settings.timeoutMs);
  const sendService = lazy(() =>
    openWusService({
      wsdl: settings.lopendeZaken.wsdl,
      schemaFolder: settings.lopendeZaken.schemaFolder,
      endpoint: settings.lopendeZaken.endpoint,
      operation: 'zakLk01',
      http,
      fromOin: settings.oin,
      toOin: settings.lopendeZaken.receiverOin,
      ...(settings.signing === undefined ? {} : { signing: settings.signing }),
    }),
  );
  const checkService = lazy(() =>
    openWusService({
      wsdl: settings.accountCheck.wsdl,
      ...(settings.accountCheck.schemaFolder === undefined
        ? {}
        : { schemaFolder: settings.accountCheck.schemaFolder }),
      endpoint: settings.accountCheck.endpoint,
      operation: 'ValidateAbonnementen',
      http,
      fromOin: settings.oin,
      toOin: settings.accountCheck.receiverOin,
    }),
  );

  async function deliverBatch(
    deliveries: readonly Delivery[],
    attempt: Attempt,
  ): Promise<readonly Outcome[]> {
    const outcomes: Outcome[] = new Array<Outcome>(deliveries.length);
    const pending: Pending[] = [];
    deliveries.forEach((delivery, index) => {
      const change = delivery.message.data as ZaakStatusGezet;
      const rule = sendingRuleFor(change);
      if (rule !== null) {
        outcomes[index] = skipped(rule.rule, rule.detail);
        return;
      }
      const mapped = caseStatusChangeToZaakLk01(change, {
        referentienummer: delivery.message.id,
        tijdstipBericht: attempt.now.toISOString(),
        zender: settings.zender,
        ontvanger: settings.ontvanger,
      });
      if (!mapped.ok)
        outcomes[index] = skipped(
          `unmappable:${mapped.unmappable}`,
          `the change cannot be expressed as a zakLk01: ${mapped.unmappable}`,
        );
      else pending.push({ index, delivery, change, xml: mapped.value });
    });

    const reachability = await reachabilityOf(pending, attempt);
    const groups = groupBy(pending, (item) => item.delivery.orderingKey ?? item.delivery.id);
    await eachLimited([...groups.values()], settings.sendConcurrency, async (group) => {
      let waitingFor: Pending | undefined;
      for (const item of group) {
        const outcome =
          waitingFor === undefined
            ? await decide(item, reachability.get(item.delivery.id), attempt)
            : transient(
                `waits for the earlier status "${waitingFor.change.status.statustype.omschrijving}" of zaak ${item.change.zaak.identificatie}`,
              );
        outcomes[item.index] = outcome;
        if (outcome.kind === 'transient' && waitingFor === undefined) waitingFor = item;
      }
    });
    const { alertAfterMs } = await readRuntimeSettings(ctx.runtimeSettings);
    return deliveries.map((delivery, index) => {
      const outcome = outcomes[index];
      if (outcome === undefined) throw new Error(`no outcome for delivery ${delivery.id}`);
      return withAlert(outcome, delivery, attempt.now, alertAfterMs);
    });
  }

  async function decide(item: Pending, reach: Reachability | undefined, attempt: Attempt): Promise<Outcome> {
    if (reach === undefined || reach.kind === 'failed') {
      const reason = reach?.reason ?? 'account check: no answer';
      const evidence: Evidence = {
        request: { summary: `ValidateAbonnementen → ${settings.accountCheck.endpoint}` },
        ...(reach?.answer === undefined ? {} : { response: { body: reach.answer } }),
      };
      return reach?.outcome === 'rejected'
        ? rejected(reason, evidence, reach.code)
        : transient(reason, evidence);
    }
    if (!reach.reachable) {
      return skipped(
        'bsn-not-reachable',
        'ValidateAbonnementen answered isBerichtSturen=false at the time of the change: the initiator cannot be reached in MijnOverheid, so this change is never sent',
      );
    }
    return send(item, attempt);
  }

  async function send(item: Pending, attempt: Attempt): Promise<Outcome> {
    let service: WusService;
    try {
      service = await sendService();
    } catch (error) {
      return transient(`the zakLk01 WSDL could not be loaded: ${messageOf(error)}`);
    }
    const messageId = `urn:uuid:${item.delivery.message.id}`;
    const { exchange } = await service.call({ body: { _xml: item.xml }, messageId, signal: attempt.signal });
    const status = item.change.status.statustype;
    const evidence: Evidence = {
      request: {
        summary: `zakLk01 zaak ${item.change.zaak.identificatie}, status "${status.omschrijving}" (${status.volgnummer}) → ${service.endpoint}; wsa:MessageID ${messageId}, referentienummer ${item.delivery.message.id}`,
        body: maskBsn(item.xml),
      },
      response: responseEvidence(exchange),
    };
    const verdict = classifySoap(exchange, 'Bv03Bericht');
    if (verdict.kind === 'ok') return delivered(evidence);
    if (verdict.kind === 'transient') return transient(verdict.reason, evidence);
    return rejected(verdict.reason, evidence, verdict.code);
  }

  async function reachabilityOf(
    pending: readonly Pending[],
    attempt: Attempt,
  ): Promise<Map<string, Reachability>> {
    const result = new Map<string, Reachability>();
    if (pending.length === 0) return result;
    const stored = await ctx.db
      .selectFrom('lopende_zaken_checks')
      .select(['delivery_id', 'reachable'])
      .where(
        'delivery_id',
        'in',
        pending.map((item) => item.delivery.id),
      )
      .execute();
    for (const row of stored)
      result.set(String(row.delivery_id), { kind: 'answered', reachable: Number(row.reachable) === 1 });
    const unchecked = pending.filter((item) => !result.has(item.delivery.id));
    if (unchecked.length === 0) return result;

    const bsns = unchecked.map((item) => item.change.zaak.initiator.bsn);
    let answers: Map<string, Reachability>;
    try {
      answers = await checkReachability(await checkService(), settings.accountCheck, bsns, attempt.signal);
    } catch (error) {
      const failed: Reachability = {
        kind: 'failed',
        outcome: 'transient',
        reason: `account check: the WSDL could not be loaded: ${messageOf(error)}`,
        code: 'wsdl-unavailable',
      };
      answers = new Map(bsns.map((bsn) => [bsn, failed]));
    }
    const rows: { delivery_id: string; reachable: number; checked_at: number }[] = [];
    for (const item of unchecked) {
      const answer = answers.get(item.change.zaak.initiator.bsn);
      if (answer === undefined) continue;
      result.set(item.delivery.id, answer);
      if (answer.kind === 'answered') {
        rows.push({
          delivery_id: item.delivery.id,
          reachable: answer.reachable ? 1 : 0,
          checked_at: attempt.now.getTime(),
        });
      }
    }
    if (rows.length > 0) {
      await ctx.db
        .insertInto('lopende_zaken_checks')
        .values(rows)
        .onConflict((conflict) => conflict.column('delivery_id').doNothing())
        .execute();
    }
    const failure = [...answers.values()].find((answer) => answer.kind === 'failed');
    if (failure !== undefined && failure.kind === 'failed') {
      ctx.log.warn(
        { adapter: 'lopende-zaken', reason: failure.reason, code: failure.code, changes: unchecked.length },
        'lopende_zaken_account_check_failed',
      );
    }
    return result;
  }

  return {
    async plan(message: CanonicalMessage): Promise<readonly DeliveryTarget[]> {
      const change = message.data as ZaakStatusGezet;
      return [
        {
          target: TARGET,
          label: 'MijnOverheid Lopende Zaken',
          orderingKey: `${change.zaak.bronorganisatie}:${change.zaak.identificatie}`,
          // UTC, so that positions with different offsets sort as instants.
          orderingPosition: new Date(change.status.datumStatusGezet).toISOString(),
        },
      ];
    },
    async deliver(delivery: Delivery, attempt: Attempt): Promise<Outcome> {
      const [outcome] = await deliverBatch([delivery], attempt);
      if (outcome === undefined) throw new Error('deliverBatch returned no outcome');
      return outcome;
    },
    deliverBatch,
    dispatch: {
      mode: 'periodic',
      intervalMs: async () => (await readRuntimeSettings(ctx.runtimeSettings)).intervalMs,
      batchSize: 250,
    },
    management: createManagement(ctx.runtimeSettings),
    async health() {
      const [send, check] = await Promise.all([
        probeTls(settings.lopendeZaken.endpoint, http),
        probeTls(settings.accountCheck.endpoint, http),
      ]);
      if (send.ok && check.ok) return { ok: true };
      const detail = [
        send.ok ? '' : `Lopende Zaken: ${send.detail ?? 'unreachable'}`,
        check.ok ? '' : `account check: ${check.detail ?? 'unreachable'}`,
      ]
        .filter(Boolean)
        .join('; ');
      return { ok: false, detail };
    },
    async close() {
      http.agent.destroy();
    },
  };
}

function responseEvidence(exchange: SoapExchange): NonNullable<Evidence['response']> {
  return exchange.kind === 'response'
    ? { status: exchange.status, body: exchange.body }
    : { status: exchange.failure, body: exchange.message };
}

/** The error log may show the message; the BSN in it only as its last four digits. */
export function maskBsn(xml: string): string {
  return xml.replace(/(<(?:[\w.-]+:)?inp\.bsn>)\d{5}(\d{4})</g, '$1*****$2<');
}

function lazy<T>(open: () => Promise<T>): () => Promise<T> {
  let opening: Promise<T> | undefined;
  return () => {
    opening ??= open().catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  };
}

async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
