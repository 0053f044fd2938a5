import { api, type Page } from '../api.ts';
import { field, h, option } from '../dom.ts';
import { formatTime, t } from '../i18n.ts';
import { href, navigate, type Route } from '../router.ts';
import { badge, code, pageHeader, statusBadge } from './parts.ts';

/** schemas/openapi/adapters/webhooks.v1.yaml */
interface Recipient {
  id: string;
  url: string;
  topics: string[];
  account: string;
  description?: string | null;
  protocol: 'websub' | 'oauth2';
  origin: 'api' | 'websub-hub';
  status: 'active' | 'disabled' | 'deleted';
  disabledReason?: string | null;
  deletedReason?: string | null;
  createdAt: string;
  deletedAt?: string | null;
}

interface LogEntry {
  id: string;
  messageId: string;
  recipientId: string;
  url?: string | null;
  topic?: string | null;
  status: string;
  statusCode?: number | null;
  attempts: number;
  reason?: string | null;
  createdAt: string;
  body?: string | null;
}

const LOG_STATUSES = ['pending', 'retrying', 'delivered', 'failed', 'filtered'];

export async function webhooksView(container: HTMLElement, route: Route): Promise<void> {
  const recipientFilter = route.query.get('recipient') ?? '';
  const statusFilter = route.query.get('status') ?? '';
  const logQuery = new URLSearchParams({ limit: '50' });
  if (recipientFilter) logQuery.set('recipient', recipientFilter);
  if (statusFilter) logQuery.set('status', statusFilter);
  const [recipients, log] = await Promise.all([
    api<Page<Recipient>>('GET', '/v1/webhooks/recipients?includeDeleted=true'),
    api<Page<LogEntry>>('GET', `/v1/webhooks/log?${logQuery.toString()}`),
  ]);
  const byId = new Map(recipients.items.map((r) => [r.id, r]));

  const recipientTable = h(
    'table',
    { class: 'log recipients-table' },
    h('caption', { class: 'visually-hidden' }, t('webhooks.recipients')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          t('webhooks.url'),
          t('webhooks.topics'),
          t('webhooks.account'),
          t('webhooks.status'),
          t('webhooks.created'),
        ].map((l) => h('th', { scope: 'col' }, l)),
      ),
    ),
    h(
      'tbody',
      {},
      recipients.items.length === 0
        ? h('tr', {}, h('td', { colspan: 5, class: 'empty' }, t('webhooks.noRecipients')))
        : null,
      recipients.items.map((r) =>
        h(
          'tr',
          { class: r.status === 'deleted' ? 'deleted' : undefined },
          h(
            'td',
            { class: 'reason', title: r.url },
            r.url,
            r.description ? h('div', { class: 'muted' }, r.description) : null,
          ),
          h('td', {}, r.topics.join(', ')),
          h('td', {}, r.account),
          h(
            'td',
            {},
            badge(r.status === 'active' ? 'delivered' : r.status, t(`webhooks.recipient.${r.status}`)),
            r.disabledReason || r.deletedReason
              ? h('div', { class: 'muted' }, r.deletedReason ?? r.disabledReason)
              : null,
          ),
          h('td', { class: 'nowrap' }, formatTime(r.createdAt)),
        ),
      ),
    ),
  );

  const recipientSelect = h(
    'select',
    { id: 'w-recipient' },
    option('', t('errors.any'), !recipientFilter),
    recipients.items.map((r) => option(r.id, r.url, r.id === recipientFilter)),
  );
  const statusSelect = h(
    'select',
    { id: 'w-status' },
    option('', t('errors.any'), !statusFilter),
    LOG_STATUSES.map((s) => option(s, t(`status.${s as 'pending'}`), s === statusFilter)),
  );
  const filters = h(
    'form',
    {
      class: 'filters card',
      role: 'search',
      'aria-label': t('webhooks.logFilters'),
      onsubmit: (event) => {
        event.preventDefault();
        navigate(href(['webhooks'], { recipient: recipientSelect.value, status: statusSelect.value }));
      },
    },
    h(
      'div',
      { class: 'filter-grid' },
      field(t('webhooks.recipient'), recipientSelect),
      field(t('webhooks.status'), statusSelect),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('errors.apply'))),
  );

  const logTable = h(
    'table',
    { class: 'log webhook-log' },
    h('caption', { class: 'visually-hidden' }, t('webhooks.log')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          t('errors.time'),
          t('webhooks.recipient'),
          t('webhooks.topic'),
          t('webhooks.status'),
          t('webhooks.body'),
        ].map((l) => h('th', { scope: 'col' }, l)),
      ),
    ),
    h(
      'tbody',
      {},
      log.items.length === 0
        ? h('tr', {}, h('td', { colspan: 5, class: 'empty' }, t('webhooks.noLog')))
        : null,
      log.items.map((entry) => {
        const recipient = byId.get(entry.recipientId);
        return h(
          'tr',
          { class: recipient?.status === 'deleted' ? 'deleted' : undefined },
          h(
            'td',
            { class: 'nowrap' },
            h('a', { href: href(['trace'], { id: entry.messageId }) }, formatTime(entry.createdAt)),
          ),
          h(
            'td',
            { class: 'reason', title: entry.url ?? '' },
            entry.url ?? recipient?.url ?? entry.recipientId,
          ),
          h('td', {}, entry.topic ?? '–'),
          h(
            'td',
            { class: 'nowrap' },
            statusBadge(entry.status),
            entry.statusCode ? ` ${entry.statusCode}` : '',
            entry.reason ? h('div', { class: 'muted' }, entry.reason) : null,
          ),
          h(
            'td',
            {},
            entry.body
              ? h(
                  'details',
                  {},
                  h('summary', {}, t('webhooks.showBody')),
                  code(entry.body, t('webhooks.body')),
                )
              : '–',
          ),
        );
      }),
    ),
  );

  container.append(
    pageHeader(t('webhooks.title'), t('webhooks.intro')),
    h(
      'section',
      { 'aria-labelledby': 'w-rec' },
      h('h2', { id: 'w-rec' }, t('webhooks.recipients')),
      h('div', { class: 'table-wrap' }, recipientTable),
    ),
    h(
      'section',
      { 'aria-labelledby': 'w-log' },
      h('h2', { id: 'w-log', tabindex: -1, 'data-focus-after-update': true }, t('webhooks.log')),
      filters,
      h('div', { class: 'table-wrap' }, logTable),
    ),
  );
}
