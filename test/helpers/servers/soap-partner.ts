/**
 * The two MijnOverheid partners of the lopende-zaken adapter as real SOAP servers on loopback,
 * HTTPS with a demanded client certificate (Digikoppeling two-way TLS):
 * - `startValidatieServer`: built from Logius' published `BerichtenboxValidatieService.wsdl`
 *   (`ValidateAbonnementen`); `reachable` says per BSN what `isBerichtSturen` answers;
 * - `startZakLk01Server`: built from Koppel's `adapters/lopende-zaken/wsdl/zaak-lk01.wsdl`; it
 *   validates every `zakLk01` against the StUF-ZKN 3.10 schemas and answers `Bv03`.
 * Both check the WS-Addressing headers (To, Action, MessageID, From, ReplyTo) and, when a request
 * is signed or `requireSignature` is set, verify the WS-Security signature with xml-crypto and
 * that it covers the Body, every addressing header and the Timestamp. A request that fails a check
 * is answered with the Digikoppeling fault a real provider would give, and recorded with its
 * problems. Tests steer them: `stop()`/`start()` (connection refused, same port), `answer` or
 * `failNext()` (each fault family, HTTP 503), and read `requests` (raw XML and what was checked).
 *
 * The partner contracts come from `../shared/fixtures/` beside the repository (or
 * `KOPPEL_PARTNER_CONTRACTS`); `requirePartnerContracts` skips a suite when they are absent, and
 * fails it when `KOPPEL_REQUIRE_SERVERS=1`.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { listen, type Server as SoapServer } from 'soap';
import { SignedXml } from 'xml-crypto';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';
import { KOPPEL_ZAK_LK01_WSDL, type LopendeZakenSettings } from '../../../adapters/lopende-zaken/settings.ts';
import { schemaImportResolver, WSA } from '../../../adapters/lopende-zaken/transport.ts';
import type { TestCa } from '../certs.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const VALIDATIE_ACTION =
  'http://schemas.rdw.nl/GEB/BerichtenboxValidatieService/2009/01/IBerichtenboxValidatieService/ValidateAbonnementen';
export const ZAK_LK01_ACTION = 'http://www.egem.nl/StUF/sector/zkn/0310/zakLk01';

export interface PartnerContracts {
  readonly berichtenboxWsdl: string;
  readonly berichtenboxFolder: string;
  readonly stufFolder: string;
}

export function findPartnerContracts(): PartnerContracts | { readonly missing: string } {
  const root = process.env.KOPPEL_PARTNER_CONTRACTS ?? resolve(here, '../../../../shared/fixtures');
  const berichtenboxFolder = join(root, 'lopende-zaken', 'berichtenbox-validatie');
  const berichtenboxWsdl = join(berichtenboxFolder, 'BerichtenboxValidatieService.wsdl');
  const stufFolder = join(root, 'stuf-zkn-0310');
  for (const needed of [berichtenboxWsdl, join(stufFolder, 'validation', 'zakLk01.xsd')]) {
    if (!existsSync(needed)) return { missing: needed };
  }
  return { berichtenboxWsdl, berichtenboxFolder, stufFolder };
}

/** Koppel's OIN in the tests and the bench. */
export const KOPPEL_TEST_OIN = '00000001234567890000';

/** Adapter settings that point at the two partners over mutual TLS with the test CA. */
export function lopendeZakenSettingsFor(
  ca: TestCa,
  contracts: PartnerContracts,
  zaken: ZakLk01Partner,
  validatie: ValidatiePartner,
  more: Partial<LopendeZakenSettings> = {},
): LopendeZakenSettings {
  return {
    oin: KOPPEL_TEST_OIN,
    tls: { certificate: ca.clientCertPem, privateKey: ca.clientKeyPem, ca: ca.caPem },
    lopendeZaken: { endpoint: zaken.url, schemaFolder: contracts.stufFolder },
    accountCheck: {
      endpoint: validatie.url,
      wsdl: contracts.berichtenboxWsdl,
      berichtTypeCode: 'LopendeZaken',
    },
    ...more,
  };
}

/** Call in `before`: skips the suite without the partner contracts (fails with KOPPEL_REQUIRE_SERVERS=1). */
export function requirePartnerContracts(context: Mocha.Context): PartnerContracts {
  const found = findPartnerContracts();
  if ('missing' in found) {
    const reason = `partner contracts not found (${found.missing}); set KOPPEL_PARTNER_CONTRACTS`;
    if (process.env.KOPPEL_REQUIRE_SERVERS === '1') throw new Error(reason);
    console.log(`      skipped: ${reason}`);
    context.skip();
  }
  return found as PartnerContracts;
}

const schemaFiles = new Map<string, XMLFileInfo[]>();

/** Validates a `ZKN:zakLk01` document against StUF-ZKN 3.10 (entry `validation/zakLk01.xsd`, see its SOURCE.md). */
export async function validateZakLk01(xml: string, stufFolder: string): Promise<readonly string[]> {
  let files = schemaFiles.get(stufFolder);
  if (files === undefined) {
    files = walk(stufFolder)
      .filter((file) => file.endsWith('.xsd'))
      .map((file) => ({ fileName: relative(stufFolder, file), contents: readFileSync(file) }));
    schemaFiles.set(stufFolder, files);
  }
  const entry = files.find((file) => file.fileName === join('validation', 'zakLk01.xsd'));
  if (entry === undefined) throw new Error(`no validation/zakLk01.xsd under ${stufFolder}`);
  const result = await validateXML({
    xml: [{ fileName: 'zakLk01.xml', contents: xml }],
    schema: entry,
    preload: files.filter((file) => file !== entry),
  });
  return result.valid ? [] : result.errors.map((error) => error.message);
}

function walk(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** How the partner answers the next request. */
export type PartnerAnswer =
  | 'ok'
  | 'http-503'
  | 'server-fault'
  | 'client-fault'
  | 'digikoppeling-0051'
  | 'digikoppeling-0004'
  | 'dependent-service-fault'
  | 'application-fault'
  | 'fo03';

export interface Addressing {
  readonly to?: string;
  readonly action?: string;
  readonly messageId?: string;
  readonly from?: string;
  readonly replyTo?: string;
}

export interface SignatureCheck {
  readonly valid: boolean;
  /** Local names of the signed elements, e.g. `Body`, `Timestamp`, `To`. */
  readonly signed: readonly string[];
  readonly error?: string;
}

export interface CapturedRequest {
  readonly raw: string;
  readonly soapAction: string | undefined;
  readonly addressing: Addressing;
  readonly clientCertificateSubject: string | undefined;
  /** Undefined when the request carried no signature. */
  readonly signature: SignatureCheck | undefined;
  /** What the server found wrong; non-empty means it answered with a fault. */
  readonly problems: readonly string[];
  /** The answer given. */
  readonly answer: PartnerAnswer | 'check-failed';
}

export interface ZakLk01Request extends CapturedRequest {
  /** The `ZKN:zakLk01` element as received. */
  readonly zakLk01: string;
  readonly referentienummer: string | undefined;
  readonly zaakIdentificatie: string | undefined;
  readonly bsn: string | undefined;
  readonly schemaErrors: readonly string[];
}

export interface ValidatieRequest extends CapturedRequest {
  readonly berichtleverancierCode: string | undefined;
  readonly berichtTypeCode: string | undefined;
  readonly bsns: readonly string[];
}

export interface SoapPartner<R extends CapturedRequest> {
  /** The service endpoint (https://127.0.0.1:<port>/…). */
  readonly url: string;
  readonly requests: R[];
  /** The standing answer (default `ok`). */
  answer: PartnerAnswer;
  /** When true, an unsigned request is refused (profile 2W-be-S). */
  requireSignature: boolean;
  /** Answer the next `times` requests with `answer`, then return to the standing answer. */
  failNext(answer: PartnerAnswer, times?: number): void;
  /** Back to a fresh state between tests: no captured requests, standing answer `ok`, nothing queued. */
  reset(): void;
  /** TLS connections from clients still open. */
  openConnections(): number;
  /** Stops listening and drops open connections: new calls are refused until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ValidatiePartner extends SoapPartner<ValidatieRequest> {
  /** `isBerichtSturen` per BSN; BSNs not listed get `defaultReachable`. */
  readonly reachable: Map<string, boolean>;
  defaultReachable: boolean;
}

export type ZakLk01Partner = SoapPartner<ZakLk01Request>;

interface PartnerBase {
  readonly ca: TestCa;
}

const xml = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  processEntities: false,
  parseTagValue: false,
});

export async function startValidatieServer(
  options: PartnerBase & { readonly contracts: PartnerContracts },
): Promise<ValidatiePartner> {
  const reachable = new Map<string, boolean>();
  const holder: { partner?: ValidatiePartner } = {};
  const partner = await startPartner<ValidatieRequest>({
    ca: options.ca,
    path: '/BerichtenboxValidatieService',
    action: VALIDATIE_ACTION,
    wsdlPath: options.contracts.berichtenboxWsdl,
    schemaFolder: options.contracts.berichtenboxFolder,
    services: (handle) => ({
      BerichtenboxValidatieService: {
        BasicHttpBinding_IBerichtenboxValidatieService: {
          ValidateAbonnementen: (_args: unknown, _cb: unknown, _headers: unknown, req: IncomingMessage) =>
            handle(req, async (captured) => {
              const aanvraag = pick(
                parsedBody(captured.raw),
                'ValidateAbonnementen',
                'validateAbonnementenAanvraag',
              );
              const klanten = asArray(pick(aanvraag, 'klanten', 'Klant'));
              const bsns = klanten.map((klant) => String(pick(klant, 'Key') ?? ''));
              const request: ValidatieRequest = {
                ...captured,
                berichtleverancierCode: stringOrUndefined(pick(aanvraag, 'berichtleverancierCode')),
                berichtTypeCode: stringOrUndefined(pick(aanvraag, 'berichtTypeCode')),
                bsns,
              };
              const self = holder.partner as ValidatiePartner;
              const result = {
                ValidateAbonnementenResult: {
                  Abonnement: bsns.map((bsn) => ({
                    klant: { Key: bsn, Rol: 'Burger' },
                    isBerichtSturen: reachable.get(bsn) ?? self.defaultReachable,
                  })),
                },
              };
              return { request, result };
            }),
        },
      },
    }),
  });
  const reset = partner.reset;
  holder.partner = Object.assign(partner, {
    reachable,
    defaultReachable: true,
    reset() {
      reset();
      reachable.clear();
      (holder.partner as ValidatiePartner).defaultReachable = true;
    },
  });
  return holder.partner;
}

export async function startZakLk01Server(
  options: PartnerBase & {
    readonly contracts: PartnerContracts;
    readonly wsdlPath?: string;
    /** Validate each zakLk01 against the StUF schemas (default true; the benchmark turns it off). */
    readonly validate?: boolean;
  },
): Promise<ZakLk01Partner> {
  const stufFolder = options.contracts.stufFolder;
  return startPartner<ZakLk01Request>({
    ca: options.ca,
    path: '/lopende-zaken/zakLk01',
    action: ZAK_LK01_ACTION,
    wsdlPath: options.wsdlPath ?? KOPPEL_ZAK_LK01_WSDL,
    schemaFolder: stufFolder,
    services: (handle) => ({
      LopendeZakenService: {
        LopendeZakenSoap11: {
          zakLk01: (_args: unknown, _cb: unknown, _headers: unknown, req: IncomingMessage) =>
            handle(req, async (captured) => {
              const zakLk01 = bodyElement(captured.raw);
              const schemaErrors =
                zakLk01 === undefined
                  ? ['no zakLk01 in the Body']
                  : options.validate === false
                    ? []
                    : await validateZakLk01(zakLk01, stufFolder);
              const parsed = pick(parsedBody(captured.raw), 'zakLk01');
              const referentienummer = stringOrUndefined(pick(parsed, 'stuurgegevens', 'referentienummer'));
              const request: ZakLk01Request = {
                ...captured,
                zakLk01: zakLk01 ?? '',
                referentienummer,
                zaakIdentificatie: stringOrUndefined(pick(parsed, 'object', 'identificatie')),
                bsn: stringOrUndefined(
                  pick(parsed, 'object', 'heeftAlsInitiator', 'gerelateerde', 'natuurlijkPersoon', 'inp.bsn'),
                ),
                schemaErrors,
                ...(schemaErrors.length > 0
                  ? { problems: [...captured.problems, ...schemaErrors], answer: 'check-failed' }
                  : {}),
              };
              if (schemaErrors.length > 0) {
                return {
                  request,
                  fault: digikoppelingFault('0004', `Niet conform xsd: ${schemaErrors[0] ?? ''}`),
                };
              }
              return {
                request,
                result: bv03(referentienummer ?? '', pick(parsed, 'stuurgegevens', 'zender')),
              };
            }),
        },
      },
    }),
  });
}

interface Handled<R> {
  readonly request: R;
  readonly result?: unknown;
  readonly fault?: SoapFault;
}

interface SoapFault {
  readonly Fault: { faultcode: string; faultstring: string; detail?: unknown; statusCode: number };
}

type Handle<R> = (
  req: IncomingMessage,
  body: (captured: CapturedRequest) => Promise<Handled<R>>,
) => Promise<unknown>;

async function startPartner<R extends CapturedRequest>(setup: {
  readonly ca: TestCa;
  readonly path: string;
  readonly action: string;
  readonly wsdlPath: string;
  readonly schemaFolder: string;
  readonly services: (handle: Handle<R>) => Record<string, unknown>;
}): Promise<SoapPartner<R>> {
  const raw = new WeakMap<IncomingMessage, string>();
  const sockets = new Set<Socket>();
  const queue: PartnerAnswer[] = [];
  const requests: R[] = [];
  const server: HttpsServer = createServer({
    key: setup.ca.serverKeyPem,
    cert: setup.ca.serverCertPem,
    ca: setup.ca.caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}${setup.path}`;

  const partner: SoapPartner<R> = {
    url,
    requests,
    answer: 'ok',
    requireSignature: false,
    failNext(answer, times = 1) {
      for (let i = 0; i < times; i += 1) queue.push(answer);
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      partner.answer = 'ok';
      partner.requireSignature = false;
    },
    openConnections: () => sockets.size,
    async stop() {
      if (!server.listening) return;
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async start() {
      if (server.listening) return;
      await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
    },
    async close() {
      await partner.stop();
    },
  };

  const handle: Handle<R> = async (req, body) => {
    const answer = queue.shift() ?? partner.answer;
    const envelope = raw.get(req) ?? '';
    const addressing = addressingOf(envelope);
    const signature = envelope.includes('Signature') ? verifySignature(envelope, setup.ca) : undefined;
    const problems = [
      ...addressingProblems(addressing, url, setup.action),
      ...signatureProblems(signature, partner.requireSignature),
    ];
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const captured: CapturedRequest = {
      raw: envelope,
      soapAction: headerValue(req.headers.soapaction)?.replace(/^"|"$/g, ''),
      addressing,
      clientCertificateSubject: [peer?.subject?.CN].flat()[0],
      signature,
      problems,
      answer: problems.length > 0 ? 'check-failed' : answer,
    };
    const handled = await body(captured);
    requests.push(handled.request);
    if (problems.length > 0) throw checkFault(problems[0] ?? '');
    if (handled.fault) throw handled.fault;
    if (answer !== 'ok') throw faultFor(answer);
    return handled.result;
  };

  const soapServer = await new Promise<SoapServer>((done, fail) => {
    listen(server, {
      path: setup.path,
      services: setup.services(handle) as never,
      xml: readFileSync(setup.wsdlPath, 'utf8'),
      uri: setup.wsdlPath,
      wsdl_options: { overrideImportLocation: schemaImportResolver(setup.wsdlPath, setup.schemaFolder) },
      callback: (error: unknown, ready: SoapServer) => (error ? fail(error) : done(ready)),
    } as never);
  });
  soapServer.log = (type: string, data: unknown, req: IncomingMessage) => {
    if (type === 'received' && typeof data === 'string') raw.set(req, data);
  };
  soapServer.authorizeConnection = (req: IncomingMessage, res?: ServerResponse) => {
    if (queue[0] !== 'http-503' && (queue.length > 0 || partner.answer !== 'http-503')) return true;
    if (queue[0] === 'http-503') queue.shift();
    res?.writeHead(503, { 'content-type': 'text/html' }).end('<html><body>Service Unavailable</body></html>');
    req.resume();
    return false;
  };
  soapServer.addSoapHeader(
    (_method: string, _args: unknown, headers: Record<string, unknown> | undefined) => {
      const messageId = headers?.MessageID;
      const relatesTo =
        typeof messageId === 'string'
          ? messageId
          : String((messageId as { $value?: unknown } | undefined)?.$value ?? '');
      return (
        `<wsa:Action xmlns:wsa="${WSA}">${setup.action}Response</wsa:Action>` +
        `<wsa:MessageID xmlns:wsa="${WSA}">urn:uuid:${crypto.randomUUID()}</wsa:MessageID>` +
        `<wsa:RelatesTo xmlns:wsa="${WSA}">${relatesTo}</wsa:RelatesTo>`
      );
    },
  );
  return partner;
}

function addressingOf(envelope: string): Addressing {
  const header = pick(parse(envelope), 'Envelope', 'Header');
  const value = (name: string): string | undefined => stringOrUndefined(pick(header, name));
  const address = (name: string): string | undefined => stringOrUndefined(pick(header, name, 'Address'));
  const result: Record<string, string> = {};
  for (const [key, found] of [
    ['to', value('To')],
    ['action', value('Action')],
    ['messageId', value('MessageID')],
    ['from', address('From')],
    ['replyTo', address('ReplyTo')],
  ] as const) {
    if (found !== undefined) result[key] = found;
  }
  return result;
}

function addressingProblems(addressing: Addressing, url: string, action: string): string[] {
  const problems: string[] = [];
  if (!addressing.to) problems.push('0005 WS-Addressing header To ontbreekt');
  else if (addressing.to.split('?')[0] !== url) problems.push(`0011 wsa:To ${addressing.to} is not ${url}`);
  if (!addressing.action) problems.push('0006 WS-Addressing header Action ontbreekt');
  else if (addressing.action !== action)
    problems.push(`0011 wsa:Action ${addressing.action} is not ${action}`);
  if (!addressing.messageId) problems.push('0007 WS-Addressing header MessageID ontbreekt');
  if (!addressing.from) problems.push('0011 wsa:From ontbreekt');
  if (!addressing.replyTo) problems.push('0011 wsa:ReplyTo ontbreekt');
  return problems;
}

const MUST_BE_SIGNED = ['Body', 'Timestamp', 'To', 'Action', 'MessageID', 'From', 'ReplyTo'];

function signatureProblems(signature: SignatureCheck | undefined, required: boolean): string[] {
  if (signature === undefined) return required ? ['unsigned request for a 2W-be-S service'] : [];
  if (!signature.valid) return [`signature invalid: ${signature.error ?? 'digest or signature mismatch'}`];
  const missing = MUST_BE_SIGNED.filter((name) => !signature.signed.includes(name));
  return missing.length > 0 ? [`signature does not cover ${missing.join(', ')}`] : [];
}

/** xml-crypto over the raw envelope, with the certificate from the BinarySecurityToken, which must chain to the test CA. */
export function verifySignature(envelope: string, ca: TestCa): SignatureCheck {
  try {
    const token = /<(?:\w+:)?BinarySecurityToken\b[^>]*>([^<]+)</.exec(envelope)?.[1];
    if (token === undefined) return { valid: false, signed: [], error: 'no BinarySecurityToken' };
    const certPem = `-----BEGIN CERTIFICATE-----\n${token
      .replace(/\s+/g, '')
      .replace(/(.{64})/g, '$1\n')
      .trim()}\n-----END CERTIFICATE-----\n`;
    const certificate = new X509Certificate(certPem);
    const authority = new X509Certificate(ca.caPem);
    if (!certificate.checkIssued(authority) || !certificate.verify(authority.publicKey)) {
      return { valid: false, signed: [], error: 'signing certificate not issued by the trusted CA' };
    }
    const signatureXml = /<((?:\w+:)?)Signature\b[\s\S]*?<\/\1Signature>/.exec(envelope)?.[0];
    if (signatureXml === undefined) return { valid: false, signed: [], error: 'no Signature element' };
    const verifier = new SignedXml({ publicCert: certPem });
    verifier.loadSignature(signatureXml);
    const valid = verifier.checkSignature(envelope);
    const algorithms = verifier.getReferences().map((reference) => reference.digestAlgorithm);
    if (
      valid &&
      (verifier.signatureAlgorithm !== 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' ||
        algorithms.some((a) => !a.endsWith('#sha256')))
    ) {
      return { valid: false, signed: [], error: 'not signed with RSA-SHA256 and SHA-256 digests' };
    }
    const signed = valid
      ? verifier.getSignedReferences().map((fragment) => /^<(?:[\w.-]+:)?([\w.-]+)/.exec(fragment)?.[1] ?? '')
      : [];
    return { valid, signed };
  } catch (error) {
    return { valid: false, signed: [], error: error instanceof Error ? error.message : String(error) };
  }
}

function checkFault(problem: string): SoapFault {
  const code = /^(\d{4}) /.exec(problem)?.[1];
  return code
    ? digikoppelingFault(code, problem.slice(5))
    : { Fault: { faultcode: 'soap:Client', faultstring: problem, statusCode: 500 } };
}

function digikoppelingFault(code: string, text: string): SoapFault {
  return {
    Fault: {
      faultcode: code === '0051' ? 'soap:Server' : 'soap:Client',
      faultstring: `${code}: ${text}`,
      statusCode: 500,
    },
  };
}

function faultFor(answer: PartnerAnswer): SoapFault {
  const shared = 'http://schemas.rdw.nl/GEB/Shared/Types/2009/01';
  switch (answer) {
    case 'server-fault':
      return {
        Fault: { faultcode: 'soap:Server', faultstring: 'Interne fout bij de ontvanger', statusCode: 500 },
      };
    case 'client-fault':
      return { Fault: { faultcode: 'soap:Client', faultstring: 'Bericht geweigerd', statusCode: 500 } };
    case 'digikoppeling-0051':
      return digikoppelingFault('0051', 'Service niet beschikbaar');
    case 'digikoppeling-0004':
      return digikoppelingFault('0004', 'Niet conform xsd');
    case 'dependent-service-fault':
      return {
        Fault: {
          faultcode: 'soap:Server',
          faultstring: 'DependentServiceFault',
          detail: {
            $xml: `<q:DependentServiceFault xmlns:q="${shared}"><q:Message>Achterliggende dienst niet bereikbaar</q:Message></q:DependentServiceFault>`,
          },
          statusCode: 500,
        },
      };
    case 'application-fault':
      return {
        Fault: {
          faultcode: 'soap:Client',
          faultstring: 'ApplicationFault',
          detail: {
            $xml: `<q:ApplicationFault xmlns:q="${shared}"><q:Message>Onbekende berichtleverancier</q:Message></q:ApplicationFault>`,
          },
          statusCode: 500,
        },
      };
    case 'fo03':
      return {
        Fault: {
          faultcode: 'soap:Server',
          faultstring: 'Fo03',
          detail: {
            $xml:
              '<StUF:Fo03Bericht xmlns:StUF="http://www.egem.nl/StUF/StUF0301"><StUF:stuurgegevens><StUF:berichtcode>Fo03</StUF:berichtcode></StUF:stuurgegevens>' +
              '<StUF:body><StUF:code>StUF058</StUF:code><StUF:plek>server</StUF:plek><StUF:omschrijving>Zaaktype niet aangemeld voor Lopende Zaken</StUF:omschrijving></StUF:body></StUF:Fo03Bericht>',
          },
          statusCode: 500,
        },
      };
    case 'ok':
    case 'http-503':
      throw new Error(`${answer} is not a fault`);
  }
}

function bv03(crossRefnummer: string, zender: unknown): unknown {
  return {
    stuurgegevens: {
      berichtcode: 'Bv03',
      zender: {
        organisatie: '00000004003214345001',
        applicatie: 'MijnOverheid',
        administratie: 'Lopende zaken',
      },
      ontvanger: {
        organisatie: stringOrUndefined(pick(zender, 'organisatie')) ?? '',
        applicatie: stringOrUndefined(pick(zender, 'applicatie')) ?? '',
      },
      referentienummer: crypto.randomUUID(),
      tijdstipBericht: '20250101000000000',
      crossRefnummer,
    },
  };
}

/** The first element inside the SOAP Body, with the namespace declarations of its ancestors. */
function bodyElement(envelope: string): string | undefined {
  const match = /<((?:[\w.-]+:)?)Body\b[^>]*>([\s\S]*)<\/\1Body>/.exec(envelope);
  const inner = match?.[2]?.trim();
  if (!inner) return undefined;
  const declarations = [...envelope.slice(0, match?.index ?? 0).matchAll(/\sxmlns:([\w.-]+)="[^"]*"/g)];
  const open = /^<[^>]*?(\/?)>/.exec(inner)?.[0] ?? '';
  const missing = declarations
    .filter(([, prefix]) => !open.includes(`xmlns:${prefix}=`))
    .map(([declaration]) => declaration);
  const unique = [...new Set(missing)].join('');
  return inner.replace(/^<([\w.:-]+)/, `<$1${unique}`);
}

function parse(text: string): unknown {
  try {
    return xml.parse(text);
  } catch {
    return undefined;
  }
}

function parsedBody(envelope: string): unknown {
  return pick(parse(envelope), 'Envelope', 'Body');
}

function pick(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

function stringOrUndefined(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
