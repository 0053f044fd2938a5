import { api, ApiError, type MessageDetail, type Page } from '../api.ts';
import { add, field, h } from '../dom.ts';
import { formatTime, t } from '../i18n.ts';
import { href, navigate, type Route } from '../router.ts';
import { attemptList, code, details, pageHeader, statusBadge } from './parts.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function traceView(container: HTMLElement, route: Route): Promise<void> {
  const id = route.query.get('id') ?? '';
  const source = route.query.get('source') ?? '';
  const eventId = route.query.get('eventId') ?? '';

  const idInput = h('input', { id: 't-id', value: id, spellcheck: 'false', autocomplete: 'off' });
  const sourceInput = h('input', { id: 't-source', value: source, spellcheck: 'false', autocomplete: 'off' });
  const eventInput = h('input', { id: 't-event', value: eventId, spellcheck: 'false', autocomplete: 'off' });
  const byId = h(
    'form',
    {
      class: 'card',
      role: 'search',
      'aria-labelledby': 'by-id-title',
      onsubmit: (event) => {
        event.preventDefault();
        navigate(href(['trace'], { id: idInput.value.trim() }));
      },
    },
    h('h2', { id: 'by-id-title' }, t('trace.byId')),
    field(t('trace.koppelId'), idInput, t('trace.koppelIdHint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('trace.find'))),
  );
  const bySource = h(
    'form',
    {
      class: 'card',
      role: 'search',
      'aria-labelledby': 'by-source-title',
      onsubmit: (event) => {
        event.preventDefault();
        navigate(href(['trace'], { source: sourceInput.value.trim(), eventId: eventInput.value.trim() }));
      },
    },
    h('h2', { id: 'by-source-title' }, t('trace.bySource')),
    field(t('trace.source'), sourceInput),
    field(t('trace.eventId'), eventInput),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('trace.find'))),
  );
  const result = h('div', { class: 'trace-result', tabindex: -1, 'data-focus-after-update': true });
  container.append(
    pageHeader(t('trace.title'), t('trace.intro')),
    h('div', { class: 'columns' }, byId, bySource),
    result,
  );

  let messageId: string | undefined;
  if (id) {
    if (!UUID.test(id)) {
      result.append(h('p', { class: 'notice error', role: 'alert' }, t('trace.badId')));
      return;
    }
    messageId = id;
  } else if (source && eventId) {
    const page = await api<Page<{ id: string }>>(
      'GET',
      `/v1/messages?${new URLSearchParams({ source, eventId, limit: '1' }).toString()}`,
    );
    messageId = page.items[0]?.id;
  } else if (source || eventId) {
    result.append(h('p', { class: 'notice error', role: 'alert' }, t('trace.bothNeeded')));
    return;
  } else {
    return;
  }

  let message: MessageDetail | undefined;
  if (messageId) {
    try {
      message = await api<MessageDetail>('GET', `/v1/messages/${encodeURIComponent(messageId)}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }
  if (!message) {
    result.append(h('p', { class: 'notice warning', role: 'status' }, t('trace.notFound')));
    return;
  }
  add(
    result,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'trace-message' },
      h('h2', { id: 'trace-message' }, t('trace.message', { type: message.type })),
      details([
        [t('trace.koppelId'), message.id],
        [t('trace.source'), message.source],
        [t('trace.eventId'), message.eventId],
        [t('trace.subject'), message.subject],
        [t('trace.received'), formatTime(message.receivedAt)],
        [t('trace.deliveries'), String(message.deliveries.length)],
      ]),
      h(
        'details',
        {},
        h('summary', {}, t('trace.event')),
        code(JSON.stringify(message.event), t('trace.event')),
      ),
    ),
    message.deliveries.length === 0 ? h('p', { class: 'notice info' }, t('trace.noDeliveries')) : null,
    message.deliveries.map((delivery) =>
      h(
        'section',
        { class: 'card delivery', 'aria-labelledby': `d-${delivery.id}` },
        h(
          'h2',
          { id: `d-${delivery.id}` },
          `${delivery.adapter} → ${delivery.label ?? delivery.target} `,
          statusBadge(delivery.status),
        ),
        details([
          [t('detail.deliveryId'), delivery.id],
          [t('detail.attempts'), String(delivery.attempts)],
          [t('attempts.nextAttempt'), delivery.nextAttemptAt ? formatTime(delivery.nextAttemptAt) : null],
          [t('trace.lastReason'), delivery.lastReason],
        ]),
        h('h3', {}, t('trace.timeline')),
        attemptList(delivery.attemptLog ?? [], message.receivedAt),
      ),
    ),
  );
}
