import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { ErrorLogTable } from '../store/schema.ts';

/** The error log as JSON lines in a file (KOPPEL_ERROR_LOG_FILE), for log shippers and grep. */
export interface ErrorLogFile {
  append(entry: ErrorLogTable): void;
  close(): Promise<void>;
}

export function openErrorLogFile(path: string): ErrorLogFile {
  mkdirSync(dirname(path), { recursive: true });
  const stream: WriteStream = createWriteStream(path, { flags: 'a' });
  return {
    append(entry) {
      stream.write(
        `${JSON.stringify({
          time: new Date(entry.created_at).toISOString(),
          id: entry.id,
          adapter: entry.adapter,
          kind: entry.kind,
          code: entry.code,
          reason: entry.reason,
          messageId: entry.message_id,
          messageType: entry.message_type,
          deliveryId: entry.delivery_id,
          attempt: entry.attempt_number,
          partnerStatus: entry.partner_status,
          partnerAnswer: entry.partner_answer,
        })}\n`,
      );
    },
    close: () => new Promise<void>((resolve) => stream.end(resolve)),
  };
}
