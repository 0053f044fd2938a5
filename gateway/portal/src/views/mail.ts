import { api, type Page } from '../api.ts';
import { add, h } from '../dom.ts';
import { formatTime, t } from '../i18n.ts';
import { badge, pageHeader } from './parts.ts';

/** schemas/openapi/adapters/smtp.v1.yaml */
interface MailServer {
  id: string;
  name: string;
  type: string;
  host: string;
  port: number;
  security: string;
  limits?: Record<string, number | null>;
  configured: boolean;
  archivedAt: string | null;
  createdAt: string;
}

interface Sender {
  id: string;
  name: string;
  from: string;
  status: 'pending' | 'verified';
  verifiedAt: string | null;
}

export async function mailView(container: HTMLElement): Promise<void> {
  const servers = await api<Page<MailServer>>('GET', '/v1/mail/servers?includeArchived=true');
  const senders = await Promise.all(
    servers.items.map((server) =>
      api<Page<Sender>>('GET', `/v1/mail/servers/${encodeURIComponent(server.id)}/senders`).catch(() => ({
        items: [] as Sender[],
      })),
    ),
  );
  add(
    container,
    pageHeader(t('mail.title'), t('mail.intro')),
    servers.items.length === 0 ? h('p', { class: 'notice info' }, t('mail.none')) : null,
    servers.items.map((server, i) =>
      h(
        'section',
        { class: `card${server.archivedAt ? ' deleted' : ''}`, 'aria-labelledby': `m-${server.id}` },
        h(
          'div',
          { class: 'adapter-head' },
          h('h2', { id: `m-${server.id}` }, server.name),
          server.archivedAt
            ? badge('deleted', t('mail.archived', { time: formatTime(server.archivedAt) }))
            : badge('delivered', t('mail.inUse')),
          server.configured ? badge('neutral', t('mail.configured')) : null,
        ),
        h('p', {}, `${server.type} · ${server.host}:${server.port} · ${server.security}`),
        h(
          'table',
          { class: 'log' },
          h('caption', {}, t('mail.senders')),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [t('mail.sender'), t('mail.from'), t('webhooks.status')].map((l) =>
                h('th', { scope: 'col' }, l),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            (senders[i]?.items ?? []).length === 0
              ? h('tr', {}, h('td', { colspan: 3, class: 'empty' }, t('mail.noSenders')))
              : null,
            (senders[i]?.items ?? []).map((sender) =>
              h(
                'tr',
                {},
                h('td', {}, sender.name),
                h('td', {}, sender.from),
                h(
                  'td',
                  {},
                  sender.status === 'verified'
                    ? badge('delivered', t('mail.verified'))
                    : badge('pending', t('mail.unverified')),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
