import { api, ApiError, type Delivery, type ErrorDetail } from '../api.ts';
import { field, h, replace } from '../dom.ts';
import { formatTime, t } from '../i18n.ts';
import { href, type Route } from '../router.ts';
import { attemptList, code, details, kindBadge, pageHeader, partnerCode, statusBadge } from './parts.ts';

const SETTLED = new Set(['delivered', 'failed', 'skipped']);
const WATCH_INTERVAL_MS = 1000;
const WATCH_LIMIT = 120;

export async function errorDetailView(container: HTMLElement, route: Route): Promise<() => void> {
  const id = route.path[1] ?? '';
  let entry = await api<ErrorDetail>('GET', `/v1/errors/${encodeURIComponent(id)}`);
  let watch: ReturnType<typeof setTimeout> | undefined;

  const back = h('a', { class: 'back', href: href(['errors'], route.query) }, t('detail.back'));
  const notice = h('div', { class: 'status', role: 'status' });
  const deliveryBox = h('section', { class: 'card', 'aria-labelledby': 'delivery-title' });
  const entryBox = h('section', { class: 'card', 'aria-labelledby': 'entry-title' });
  const actions = h('section', { class: 'card', 'aria-labelledby': 'actions-title' });

  const renderEntry = () =>
    replace(
      entryBox,
      h('h2', { id: 'entry-title' }, t('detail.entry')),
      details([
        [t('errors.time'), formatTime(entry.createdAt)],
        [t('errors.adapter'), entry.adapter],
        [t('errors.kind'), kindBadge(entry.kind)],
        [t('errors.partnerCode'), partnerCode(entry)],
        [t('detail.code'), entry.code],
        [t('errors.messageType'), entry.messageType],
        [t('detail.messageId'), h('a', { href: href(['trace'], { id: entry.messageId }) }, entry.messageId)],
        [t('detail.attemptNumber'), String(entry.attemptNumber)],
        [t('detail.resolvedAt'), entry.resolvedAt ? formatTime(entry.resolvedAt) : t('detail.open')],
        [t('detail.resolvedBy'), entry.resolvedBy],
        [t('detail.resolvedNote'), entry.resolvedNote],
      ]),
      entry.partnerAnswer
        ? [h('h3', {}, t('detail.partnerAnswer')), code(entry.partnerAnswer, t('detail.partnerAnswer'))]
        : null,
    );

  const renderDelivery = (delivery: Delivery | undefined) =>
    replace(
      deliveryBox,
      h('h2', { id: 'delivery-title' }, t('detail.delivery')),
      delivery
        ? [
            details([
              [t('detail.status'), h('span', { class: 'delivery-status' }, statusBadge(delivery.status))],
              [t('detail.target'), delivery.label ?? delivery.target],
              [t('detail.attempts'), String(delivery.attempts)],
              [t('detail.deliveryId'), delivery.id],
            ]),
            h('h3', {}, t('detail.attemptLog')),
            attemptList(delivery.attemptLog ?? []),
          ]
        : h('p', {}, t('detail.noDelivery')),
    );

  const watchDelivery = (round = 0) => {
    watch = setTimeout(() => {
      api<Delivery>('GET', `/v1/deliveries/${encodeURIComponent(entry.deliveryId)}`)
        .then((delivery) => {
          if (!container.isConnected) return;
          renderDelivery(delivery);
          if (SETTLED.has(delivery.status)) {
            notice.replaceChildren(
              h(
                'p',
                { class: `notice ${delivery.status === 'delivered' ? 'success' : 'warning'}` },
                t('detail.settled', { status: t(`status.${delivery.status as 'delivered'}`) }),
              ),
            );
          } else if (round < WATCH_LIMIT) watchDelivery(round + 1);
        })
        .catch(() => undefined);
    }, WATCH_INTERVAL_MS);
  };

  const renderActions = () => {
    const retry = h('button', { type: 'button' }, t('detail.retry'));
    retry.addEventListener('click', () => {
      retry.disabled = true;
      api<Delivery>('POST', `/v1/errors/${encodeURIComponent(entry.id)}/retry`)
        .then(async (delivery) => {
          notice.replaceChildren(h('p', { class: 'notice info' }, t('detail.retried')));
          renderDelivery({ ...delivery, attemptLog: entry.delivery?.attemptLog ?? [] });
          entry = await api<ErrorDetail>('GET', `/v1/errors/${encodeURIComponent(entry.id)}`);
          renderEntry();
          renderActions();
          watchDelivery();
        })
        .catch((error: unknown) => {
          retry.disabled = false;
          notice.replaceChildren(h('p', { class: 'notice error' }, actionError(error)));
        });
    });
    const note = h('textarea', { id: 'resolve-note', rows: 3, maxlength: 2000, required: true });
    const resolveForm = h(
      'form',
      {
        class: 'resolve',
        novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          if (note.value.trim() === '') {
            note.setAttribute('aria-invalid', 'true');
            notice.replaceChildren(h('p', { class: 'notice error' }, t('detail.noteMissing')));
            note.focus();
            return;
          }
          api<ErrorDetail>('POST', `/v1/errors/${encodeURIComponent(entry.id)}/resolve`, {
            note: note.value.trim(),
          })
            .then((updated) => {
              entry = { ...entry, ...updated };
              notice.replaceChildren(h('p', { class: 'notice success' }, t('detail.resolved')));
              renderEntry();
              renderActions();
            })
            .catch((error: unknown) =>
              notice.replaceChildren(h('p', { class: 'notice error' }, actionError(error))),
            );
        },
      },
      field(t('detail.note'), note, t('detail.noteHint')),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', class: 'secondary' }, t('detail.resolve')),
      ),
    );
    const canRetry = entry.delivery ? !['delivered', 'active'].includes(entry.delivery.status) : true;
    replace(
      actions,
      h('h2', { id: 'actions-title' }, t('detail.actions')),
      h('div', { class: 'actions' }, canRetry ? retry : h('p', { class: 'muted' }, t('detail.cannotRetry'))),
      entry.resolvedAt ? h('p', { class: 'muted' }, t('detail.alreadyResolved')) : resolveForm,
    );
  };

  renderEntry();
  renderDelivery(entry.delivery);
  renderActions();
  container.append(
    back,
    pageHeader(
      capitalise(t('detail.title', { kind: t(`kind.${entry.kind}`), adapter: entry.adapter })),
      entry.reason,
    ),
    notice,
    h('div', { class: 'columns' }, h('div', {}, actions, entryBox), deliveryBox),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'message-title' },
      h('h2', { id: 'message-title' }, t('detail.message')),
      entry.message
        ? [
            details([
              [t('trace.type'), entry.message.type],
              [t('trace.source'), entry.message.source],
              [t('trace.eventId'), entry.message.eventId],
              [t('trace.received'), formatTime(entry.message.receivedAt)],
            ]),
            code(JSON.stringify(entry.message.event), t('detail.message')),
          ]
        : h('p', {}, t('detail.noMessage')),
    ),
  );
  return () => clearTimeout(watch);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function actionError(error: unknown): string {
  if (error instanceof ApiError && error.status === 409)
    return t('detail.conflict', { reason: error.message });
  return t('common.actionFailed', { reason: (error as Error).message });
}
