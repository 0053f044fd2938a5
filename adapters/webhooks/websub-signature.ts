import { createHmac } from 'node:crypto';

export type WebSubAlgorithm = 'sha256' | 'sha1';

/**
 * WebSub `X-Hub-Signature` (§8 "Authenticated Content Distribution"): `method=signature`, the hex
 * HMAC of the exact body bytes, keyed with the subscriber's secret as UTF-8 bytes. sha1 is WebSub's
 * historic default; it is only used when a recipient asks for it.
 */
export function websubSignature(body: string, secret: string, algorithm: WebSubAlgorithm = 'sha256'): string {
  return `${algorithm}=${createHmac(algorithm, Buffer.from(secret, 'utf8')).update(body, 'utf8').digest('hex')}`;
}

/** WebSub discovery links; `self` is the topic URL the subscriber subscribed to. */
export function websubLinks(hubUrl: string, topicUrl: string): string {
  return `<${hubUrl}>; rel="hub", <${topicUrl}>; rel="self"`;
}
