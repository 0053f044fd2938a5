import { XMLParser } from 'fast-xml-parser';

/**
 * The one place that decides what a Digikoppeling WUS answer means (STYLE.md §4), for both the
 * account check and the zakLk01 send. Sources: PROTOCOLS.md §1.5, §2.3, §2.4 and issue #5.
 *
 * | answer | kind |
 * |---|---|
 * | connection refused/reset, TLS failure, timeout | transient |
 * | HTTP 5xx, 408 or 429 without a SOAP Fault | transient |
 * | other HTTP status ≥ 300 without a Fault | rejected |
 * | StUF `Fo03Bericht` in the Fault detail (whatever the faultcode) | rejected, except `plek` server saying the service is unavailable: transient |
 * | Berichtenbox `DependentServiceFault` | transient |
 * | Berichtenbox `ApplicationFault` | rejected |
 * | Digikoppeling code 0051 (faultstring or detail) | transient |
 * | Digikoppeling codes 0001–0011 | rejected |
 * | faultcode `Server`/`Receiver` | transient |
 * | any other faultcode (`Client`, `VersionMismatch`, `MustUnderstand`, unknown) | rejected |
 * | a 2xx answer without the expected element | rejected |
 *
 * The specific answers (StUF, Berichtenbox, Digikoppeling codes) win over the generic faultcode,
 * because a partner that says "Fo03" inside a `Server` fault has still decided.
 */

/** What came back from one SOAP call, before interpretation. */
export type SoapExchange =
  | {
      readonly kind: 'failure';
      readonly failure: 'connection' | 'timeout' | 'aborted';
      readonly message: string;
    }
  | { readonly kind: 'response'; readonly status: number; readonly body: string };

export type SoapVerdict =
  | { readonly kind: 'ok'; readonly body: Readonly<Record<string, unknown>> }
  | { readonly kind: 'transient' | 'rejected'; readonly reason: string; readonly code: string };

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  processEntities: false,
  parseTagValue: false,
  trimValues: true,
});

const DIGIKOPPELING_CODE = /(?:^|[^0-9])(?:DK)?(00(?:0[1-9]|1[01]|51))(?![0-9])/;
const UNAVAILABLE = /niet beschikbaar|not available|unavailable/i;

/** Interprets an exchange; `expected` is the local name of the Body element that means success. */
export function classifySoap(exchange: SoapExchange, expected: string): SoapVerdict {
  if (exchange.kind === 'failure') {
    return { kind: 'transient', reason: `${exchange.failure}: ${exchange.message}`, code: exchange.failure };
  }
  const envelope = parseEnvelope(exchange.body);
  const body = envelope?.Body;
  const fault = isRecord(body) ? body.Fault : undefined;
  if (isRecord(fault)) return classifyFault(fault);
  if (exchange.status >= 500 || exchange.status === 408 || exchange.status === 429) {
    return {
      kind: 'transient',
      reason: `HTTP ${exchange.status} without a SOAP Fault`,
      code: `http:${exchange.status}`,
    };
  }
  if (exchange.status >= 300) {
    return {
      kind: 'rejected',
      reason: `HTTP ${exchange.status} without a SOAP Fault`,
      code: `http:${exchange.status}`,
    };
  }
  if (isRecord(body) && expected in body) return { kind: 'ok', body };
  const fo03 = isRecord(body) ? body.Fo03Bericht : undefined;
  if (isRecord(fo03)) return classifyFo03(fo03);
  return { kind: 'rejected', reason: `the answer holds no ${expected}`, code: 'unexpected-answer' };
}

function classifyFault(fault: Record<string, unknown>): SoapVerdict {
  const faultcode = text(fault.faultcode) ?? '';
  const faultstring = text(fault.faultstring) ?? '';
  const detail = isRecord(fault.detail) ? fault.detail : {};
  const fo03 = detail.Fo03Bericht;
  if (isRecord(fo03)) return classifyFo03(fo03);
  if ('DependentServiceFault' in detail) {
    return {
      kind: 'transient',
      reason: `DependentServiceFault: ${message(detail.DependentServiceFault) ?? faultstring}`,
      code: 'DependentServiceFault',
    };
  }
  if ('ApplicationFault' in detail) {
    return {
      kind: 'rejected',
      reason: `ApplicationFault: ${message(detail.ApplicationFault) ?? faultstring}`,
      code: 'ApplicationFault',
    };
  }
  const dk =
    DIGIKOPPELING_CODE.exec(faultstring)?.[1] ?? DIGIKOPPELING_CODE.exec(allText(detail).join(' '))?.[1];
  const reason = `${faultcode}: ${faultstring}`.trim();
  if (dk !== undefined)
    return { kind: dk === '0051' ? 'transient' : 'rejected', reason, code: `digikoppeling:${dk}` };
  const local = faultcode.replace(/^.*:/, '');
  if (/^(Server|Receiver)\b/.test(local)) return { kind: 'transient', reason, code: `soap:${local}` };
  return { kind: 'rejected', reason, code: `soap:${local || 'unknown'}` };
}

function classifyFo03(fo03: Record<string, unknown>): SoapVerdict {
  const body = isRecord(fo03.body) ? fo03.body : {};
  const code = text(body.code) ?? 'Fo03';
  const plek = text(body.plek) ?? '';
  const omschrijving = text(body.omschrijving) ?? '';
  const details = text(body.details);
  const reason = `Fo03 ${code} (${plek}): ${omschrijving}${details ? ` – ${details}` : ''}`;
  const unavailable = plek === 'server' && UNAVAILABLE.test(`${omschrijving} ${details ?? ''}`);
  return { kind: unavailable ? 'transient' : 'rejected', reason, code: `stuf:${code}` };
}

function parseEnvelope(xml: string): Record<string, unknown> | undefined {
  if (!xml.includes('Envelope')) return undefined;
  try {
    const parsed: unknown = parser.parse(xml);
    return isRecord(parsed) && isRecord(parsed.Envelope) ? parsed.Envelope : undefined;
  } catch {
    return undefined;
  }
}

function message(value: unknown): string | undefined {
  return isRecord(value) ? text(value.Message) : text(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isRecord(value) && '#text' in value) return text(value['#text']);
  return undefined;
}

function allText(value: unknown): string[] {
  if (isRecord(value)) return Object.values(value).flatMap(allText);
  if (Array.isArray(value)) return value.flatMap(allText);
  const single = text(value);
  return single === undefined ? [] : [single];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
