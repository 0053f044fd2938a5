import type { GoldenSpec } from '../kit.ts';
import {
  emailRequestToMail,
  type EmailRequest,
  type EmailRequestToMailContext,
} from './email-request-to-mail.ts';

/** The expected file is the nodemailer message, as pretty JSON. */
export const golden: GoldenSpec = {
  inputType: () => 'nl.communicatie.email-verzocht',
  extension: 'json',
  run(input, context) {
    const result = emailRequestToMail(input as EmailRequest, context as EmailRequestToMailContext);
    return result.ok ? { ok: true, value: `${JSON.stringify(result.value, null, 2)}\n` } : result;
  },
};
