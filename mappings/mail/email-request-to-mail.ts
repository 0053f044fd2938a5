import type { EmailVerzocht } from '../../schemas/types/email-verzocht.js';
import { resolveTemplate, type MailTemplate, type TemplateCatalogue } from './templates.ts';
import { renderPlaceholders } from './render.ts';
import { unmappable, type Mapped } from '../kit.ts';

/** `data` of `nl.communicatie.email-verzocht` (schemas/canonical/email-verzocht.schema.json). */
export type EmailRequest = EmailVerzocht;

export interface EmailRequestToMailContext {
  /** Koppel's message id: the `X-Koppel-Message-Id` header and the local part of `Message-ID`. */
  readonly messageId: string;
  /** The verified sender named by `afzenderId`. */
  readonly sender: { readonly name: string; readonly address: string };
  /** Used when neither `taal` nor its primary language has the template. */
  readonly defaultLanguage: string;
  readonly templates: TemplateCatalogue;
  /** Upper bound of the decoded size of all attachments together. */
  readonly maxAttachmentBytes: number;
}

export interface MailAddress {
  readonly name?: string;
  readonly address: string;
}

/** nodemailer message options, JSON only (attachments stay base64) so golden files can pin them. */
export interface MailMessage {
  readonly from: MailAddress;
  readonly to: readonly MailAddress[];
  readonly cc: readonly MailAddress[];
  readonly bcc: readonly MailAddress[];
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
  /** Stable across attempts, so a receiving server can recognise a resend. */
  readonly messageId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly attachments: readonly {
    readonly filename: string;
    readonly contentType: string;
    readonly content: string;
    readonly encoding: 'base64';
  }[];
}

export type MailMapped = Mapped<MailMessage>;

/**
 * An e-mail request and its sender into the mail to send. Unmappable reasons start with a key
 * (`missing-template`, `missing-variable`, `no-content`, `attachments-too-large`) followed by `: ` and the detail; the adapter skips with rule
 * `unmappable:<key>`.
 */
export function emailRequestToMail(request: EmailRequest, context: EmailRequestToMailContext): MailMapped {
  const content = contentOf(request, context);
  if (!content.ok) return content;
  const attachments: MailMessage['attachments'][number][] = [];
  let totalBytes = 0;
  for (const bijlage of request.bijlagen ?? []) {
    const content = bijlage.inhoud.replace(/\s+/g, '');
    totalBytes += decodedLength(content);
    attachments.push({
      filename: bijlage.bestandsnaam,
      contentType: bijlage.formaat,
      content,
      encoding: 'base64',
    });
  }
  if (totalBytes > context.maxAttachmentBytes) {
    return unmappable(
      `attachments-too-large: ${totalBytes} bytes, at most ${context.maxAttachmentBytes} allowed`,
    );
  }
  const domain = context.sender.address.slice(context.sender.address.lastIndexOf('@') + 1);
  return {
    ok: true,
    value: {
      from: address(context.sender.address, context.sender.name),
      to: (request.aan ?? []).map((a) => address(a.adres, a.naam)),
      cc: (request.cc ?? []).map((a) => address(a.adres, a.naam)),
      bcc: (request.bcc ?? []).map((a) => address(a.adres, a.naam)),
      subject: content.subject,
      ...(content.text === undefined ? {} : { text: content.text }),
      ...(content.html === undefined ? {} : { html: content.html }),
      messageId: `<${context.messageId}@${domain}>`,
      headers: { 'X-Koppel-Message-Id': context.messageId, 'Content-Language': content.language },
      attachments,
    },
  };
}

export default emailRequestToMail;

interface Content {
  readonly ok: true;
  readonly language: string;
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
}

function contentOf(
  request: EmailRequest,
  context: EmailRequestToMailContext,
): Content | { ok: false; unmappable: string } {
  const language = request.taal;
  if (request.sjabloon !== undefined) {
    const { naam, variabelen = {} } = request.sjabloon;
    const found = resolveTemplate(context.templates, naam, language, context.defaultLanguage);
    if (found === undefined) {
      return unmappable(
        `missing-template: no template "${naam}" for ${language}, its primary language or ${context.defaultLanguage}`,
      );
    }
    return render(found.template, found.language, variabelen, naam);
  }
  if (request.onderwerp === undefined || (request.tekst === undefined && request.html === undefined)) {
    return unmappable('no-content: neither a template nor a subject with text or HTML');
  }
  return {
    ok: true,
    language,
    subject: singleLine(request.onderwerp),
    ...(request.tekst === undefined ? {} : { text: request.tekst }),
    ...(request.html === undefined ? {} : { html: request.html }),
  };
}

function render(
  template: MailTemplate,
  language: string,
  variables: Readonly<Record<string, unknown>>,
  name: string,
): Content | { ok: false; unmappable: string } {
  const missing = new Set<string>();
  const fill = (text: string, escape: boolean): string => {
    const result = renderPlaceholders(text, variables, escape);
    for (const m of result.missing) missing.add(m);
    return result.text;
  };
  const subject = singleLine(fill(template.subject, false));
  const text = template.text === undefined ? undefined : fill(template.text, false);
  const html = template.html === undefined ? undefined : fill(template.html, true);
  if (missing.size > 0) {
    return unmappable(
      `missing-variable: ${[...missing].sort().join(', ')} (template "${name}", ${language})`,
    );
  }
  return {
    ok: true,
    language,
    subject,
    ...(text === undefined ? {} : { text }),
    ...(html === undefined ? {} : { html }),
  };
}

function address(addr: string, name: string | undefined): MailAddress {
  return name === undefined || name === '' ? { address: addr } : { name, address: addr };
}

// A header must stay one line; a variable with a newline would otherwise start a new header.
function singleLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

function decodedLength(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}
