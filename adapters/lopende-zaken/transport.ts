import { Agent as HttpsAgent } from 'node:https';
import { connect as tlsConnect, type ConnectionOptions, type SecureVersion } from 'node:tls';
import { basename, join, resolve as resolvePath } from 'node:path';
import axios from 'axios';
import type { IOptions, WSDL, WSSecurityCert } from 'soap';
import { signalWithTimeout } from '../../gateway/adapter-kit/abort.ts';
import type { SoapExchange } from './soap-fault.ts';

/**
 * Digikoppeling WUS over node-soap: SOAP 1.1 document/literal, WS-Addressing 1.0 headers, two-way
 * TLS, and for profile 2W-be-S a WS-Security signature (SHA-256, exclusive C14N) over the Body,
 * every addressing header and the Timestamp (PROTOCOLS.md §1). The WSDL is parsed once; each call
 * gets its own lightweight `Client`, so that per-delivery headers never leak between concurrent
 * calls. Interpretation of the answer is `soap-fault.ts`'s job: this file only reports what came back.
 */

export const WSA = 'http://www.w3.org/2005/08/addressing';
const ANONYMOUS = `${WSA}/anonymous`;
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const ADDRESSING_HEADERS = ['wsa:To', 'wsa:Action', 'wsa:MessageID', 'wsa:From', 'wsa:ReplyTo'] as const;

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
  readonly passphrase?: string;
  readonly minVersion: SecureVersion;
}

export interface SigningMaterial {
  readonly key: string;
  readonly cert: string;
  readonly passphrase?: string;
}

export interface WusServiceOptions {
  /** Path or URL of the WSDL. */
  readonly wsdl: string;
  /** Where the WSDL's schema imports are found (see `schemaImportResolver`). */
  readonly schemaFolder?: string;
  readonly endpoint: string;
  readonly operation: string;
  readonly http: WusHttp;
  /** Sender OIN for `wsa:From` and `wsa:ReplyTo`. */
  readonly fromOin: string;
  /** Receiver OIN appended to `wsa:To` as `?OIN=`; omitted when empty. */
  readonly toOin?: string;
  /** Present for profile 2W-be-S. */
  readonly signing?: SigningMaterial;
}

export interface WusCall {
  /** `_xml` for a pre-built body (the zakLk01 mapping), or an object node-soap serialises from the WSDL. */
  readonly body: Readonly<Record<string, unknown>>;
  /** `wsa:MessageID`; stable per delivery for a send, so that a resend is recognisable. */
  readonly messageId: string;
  readonly signal: AbortSignal;
}

export interface WusResult {
  readonly exchange: SoapExchange;
}

export interface WusService {
  readonly endpoint: string;
  readonly action: string;
  call(call: WusCall): Promise<WusResult>;
}

/** One keep-alive mutual-TLS agent shared by both services of an adapter instance. */
export interface WusHttp {
  readonly agent: HttpsAgent;
  /** node-soap's request option: axios over the agent (its CJS typing differs from axios' ESM one). */
  readonly axios: NonNullable<IOptions['request']>;
  readonly tls: TlsMaterial;
  readonly timeoutMs: number;
}

export function createWusHttp(tls: TlsMaterial, timeoutMs: number): WusHttp {
  const agent = new HttpsAgent({
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    minVersion: tls.minVersion,
    keepAlive: true,
    maxSockets: 16,
  });
  const request = axios.create({
    httpsAgent: agent,
    proxy: false,
    maxRedirects: 0,
  }) as unknown as WusHttp['axios'];
  return { agent, tls, timeoutMs, axios: request };
}

/**
 * Maps a WSDL's schema imports to local files, so that a partner WSDL with absolute import
 * locations (Berichtenbox: `http://rdw…?xsd=xsd2`) or Koppel's WSDL (relative to the StUF package
 * root) loads without editing. Only imports that the WSDL itself makes, or that point at a URL,
 * are redirected; relative imports inside the schema folder resolve as they are.
 */
export function schemaImportResolver(wsdl: string, schemaFolder: string | undefined) {
  const wsdlPath = isUrl(wsdl) ? wsdl : resolvePath(wsdl);
  return (includePath: string, parentUri: string, original: string): string => {
    if (schemaFolder === undefined) return includePath;
    const xsdParameter = /[?&]xsd=([\w.-]+)/.exec(original)?.[1];
    if (xsdParameter !== undefined) return join(schemaFolder, `${xsdParameter}.xsd`);
    if (isUrl(original)) return join(schemaFolder, basename(new URL(original).pathname));
    const fromWsdl = isUrl(parentUri) ? parentUri === wsdlPath : resolvePath(parentUri) === wsdlPath;
    return fromWsdl ? join(schemaFolder, original) : includePath;
  };
}

export async function openWusService(options: WusServiceOptions): Promise<WusService> {
  // node-soap and xml-crypto (~8 MB resident) load only once Lopende Zaken is configured.
  const { Client, WSSecurityCert, createClientAsync } = await import('soap');
  const loaded = await createClientAsync(options.wsdl, {
    disableCache: true,
    wsdl_options: {
      overrideImportLocation: schemaImportResolver(options.wsdl, options.schemaFolder),
      httpsAgent: options.http.agent,
    },
    request: options.http.axios,
  });
  const wsdl: WSDL = loaded.wsdl;
  const action = soapActionOf(wsdl, options.operation);
  const to = options.toOin
    ? `${options.endpoint}${options.endpoint.includes('?') ? '&' : '?'}OIN=${options.toOin}`
    : options.endpoint;
  const sender = `${ANONYMOUS}?OIN=${options.fromOin}`;

  async function call(request: WusCall): Promise<WusResult> {
    const client = new Client(wsdl, options.endpoint, { request: options.http.axios });
    client.addSoapHeader(
      addressingHeaders({ to, action, messageId: request.messageId, from: sender, replyTo: sender }),
    );
    if (options.signing) client.setSecurity(signer(WSSecurityCert, options.signing));
    let answered: { status: number; body: string } | undefined;
    client.on('response', (body: unknown, response: { status?: number } | null | undefined) => {
      if (response && typeof response.status === 'number')
        answered = { status: response.status, body: String(body ?? '') };
    });
    const timeout = signalWithTimeout(request.signal, options.http.timeoutMs);
    const signal = timeout.signal;
    const method = (client as unknown as Record<string, (args: unknown, opts: unknown) => Promise<unknown>>)[
      `${options.operation}Async`
    ];
    if (method === undefined) throw new Error(`operation ${options.operation} is not in ${options.wsdl}`);
    let failure: unknown;
    try {
      await method.call(client, request.body, { signal, timeout: options.http.timeoutMs });
    } catch (error) {
      failure = error;
    } finally {
      timeout.release();
    }
    if (answered !== undefined) return { exchange: { kind: 'response', ...answered } };
    if (failure === undefined) return { exchange: { kind: 'response', status: 200, body: '' } };
    return { exchange: describeFailure(failure, timeout.timedOut, request.signal.aborted) };
  }

  return { endpoint: options.endpoint, action, call };
}

/** Reachability: a TLS handshake with the client certificate, nothing sent. */
export function probeTls(endpoint: string, http: WusHttp): Promise<{ ok: boolean; detail?: string }> {
  const url = new URL(endpoint);
  return new Promise((done) => {
    const options: ConnectionOptions = {
      host: url.hostname,
      port: Number(url.port || 443),
      key: http.tls.key,
      cert: http.tls.cert,
      ca: http.tls.ca,
      ...(http.tls.passphrase === undefined ? {} : { passphrase: http.tls.passphrase }),
      minVersion: http.tls.minVersion,
      timeout: Math.min(http.timeoutMs, 5000),
    };
    if (!isIp(url.hostname)) options.servername = url.hostname;
    const socket = tlsConnect(options);
    const finish = (result: { ok: boolean; detail?: string }): void => {
      socket.destroy();
      done(result);
    };
    socket.once('secureConnect', () => finish({ ok: true }));
    socket.once('timeout', () => finish({ ok: false, detail: 'TLS handshake timed out' }));
    socket.once('error', (error) => finish({ ok: false, detail: error.message }));
  });
}

function signer(Cert: typeof WSSecurityCert, signing: SigningMaterial): WSSecurityCert {
  return new Cert(signing.key, signing.cert, signing.passphrase ?? '', {
    hasTimeStamp: true,
    signatureAlgorithm: RSA_SHA256,
    digestAlgorithm: SHA256,
    additionalReferences: [...ADDRESSING_HEADERS],
    signerOptions: { idMode: 'wssecurity' },
  });
}

function addressingHeaders(values: {
  to: string;
  action: string;
  messageId: string;
  from: string;
  replyTo: string;
}): string {
  const ns = `xmlns:wsa="${WSA}"`;
  return (
    `<wsa:To ${ns}>${escapeXml(values.to)}</wsa:To>` +
    `<wsa:Action ${ns}>${escapeXml(values.action)}</wsa:Action>` +
    `<wsa:MessageID ${ns}>${escapeXml(values.messageId)}</wsa:MessageID>` +
    `<wsa:From ${ns}><wsa:Address>${escapeXml(values.from)}</wsa:Address></wsa:From>` +
    `<wsa:ReplyTo ${ns}><wsa:Address>${escapeXml(values.replyTo)}</wsa:Address></wsa:ReplyTo>`
  );
}

function soapActionOf(wsdl: WSDL, operation: string): string {
  const bindings = (
    wsdl.definitions as unknown as {
      bindings: Record<string, { methods: Record<string, { soapAction?: string }> }>;
    }
  ).bindings;
  for (const binding of Object.values(bindings)) {
    const action = binding.methods[operation]?.soapAction;
    if (action) return action;
  }
  throw new Error(`the WSDL declares no soapAction for ${operation}`);
}

function describeFailure(error: unknown, timedOut: boolean, aborted: boolean): SoapExchange {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (aborted) return { kind: 'failure', failure: 'aborted', message: 'the attempt was aborted' };
  if (timedOut || code === 'ECONNABORTED' || code === 'ETIMEDOUT')
    return { kind: 'failure', failure: 'timeout', message };
  return {
    kind: 'failure',
    failure: 'connection',
    message: code && !message.includes(code) ? `${code}: ${message}` : message,
  };
}

function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function isUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
