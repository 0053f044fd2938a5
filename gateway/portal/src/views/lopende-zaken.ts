import { api, type Page } from '../api.ts';
import { field, h } from '../dom.ts';
import { formatDuration, formatTime, t } from '../i18n.ts';
import { href } from '../router.ts';
import { pageHeader, statusBadge } from './parts.ts';

/** schemas/openapi/adapters/lopende-zaken.v1.yaml */
interface RuntimeSettings {
  intervalMs: number;
  alertAfterMs: number;
}

interface Alert {
  deliveryId: string;
  messageId: string;
  zaak: string;
  waitingSince: string;
  alertedAt: string;
  reason: string;
  resolvedAt: string | null;
  resolution: string | null;
}

export async function lopendeZakenView(container: HTMLElement): Promise<void> {
  const [settings, alerts] = await Promise.all([
    api<RuntimeSettings>('GET', '/v1/lopende-zaken/settings'),
    api<Page<Alert>>('GET', '/v1/lopende-zaken/alerts?limit=100'),
  ]);
  // Minutes and hours are what an admin thinks in; the API takes milliseconds.
  const interval = h('input', {
    id: 'lz-interval',
    type: 'number',
    min: 0.1,
    max: 1440,
    step: 'any',
    required: true,
    value: settings.intervalMs / 60_000,
  });
  const alertAfter = h('input', {
    id: 'lz-alert',
    type: 'number',
    min: 0.01,
    max: 720,
    step: 'any',
    required: true,
    value: settings.alertAfterMs / 3_600_000,
  });
  const notice = h('div', { class: 'status', role: 'status' });
  const form = h(
    'form',
    {
      class: 'card',
      'aria-labelledby': 'lz-settings',
      onsubmit: (event) => {
        event.preventDefault();
        const change = {
          intervalMs: Math.round(Number(interval.value) * 60_000),
          alertAfterMs: Math.round(Number(alertAfter.value) * 3_600_000),
        };
        api<RuntimeSettings>('PUT', '/v1/lopende-zaken/settings', change)
          .then((saved) =>
            notice.replaceChildren(
              h(
                'p',
                { class: 'notice success' },
                t('lz.saved', {
                  interval: formatDuration(saved.intervalMs),
                  alert: formatDuration(saved.alertAfterMs),
                }),
              ),
            ),
          )
          .catch((error: unknown) =>
            notice.replaceChildren(
              h(
                'p',
                { class: 'notice error' },
                t('common.actionFailed', { reason: (error as Error).message }),
              ),
            ),
          );
      },
    },
    h('h2', { id: 'lz-settings' }, t('lz.settings')),
    notice,
    h(
      'div',
      { class: 'filter-grid' },
      field(t('lz.interval'), interval),
      field(t('lz.alertAfter'), alertAfter),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('lz.save'))),
  );
  container.append(
    pageHeader(t('lz.title'), t('lz.intro')),
    form,
    h(
      'section',
      { 'aria-labelledby': 'lz-alerts' },
      h('h2', { id: 'lz-alerts' }, t('lz.alerts')),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'log alerts-table' },
          h('caption', { class: 'visually-hidden' }, t('lz.alerts')),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              [
                t('lz.alerted'),
                t('lz.zaak'),
                t('lz.waitingSince'),
                t('errors.reason'),
                t('lz.resolution'),
              ].map((l) => h('th', { scope: 'col' }, l)),
            ),
          ),
          h(
            'tbody',
            {},
            alerts.items.length === 0
              ? h('tr', {}, h('td', { colspan: 5, class: 'empty' }, t('lz.noAlerts')))
              : null,
            alerts.items.map((alert) =>
              h(
                'tr',
                { class: alert.resolvedAt ? 'resolved' : undefined },
                h(
                  'td',
                  { class: 'nowrap' },
                  h('a', { href: href(['trace'], { id: alert.messageId }) }, formatTime(alert.alertedAt)),
                ),
                h('td', {}, alert.zaak),
                h('td', { class: 'nowrap' }, formatTime(alert.waitingSince)),
                h('td', { class: 'reason', title: alert.reason }, alert.reason),
                h('td', {}, alert.resolution ? statusBadge(alert.resolution) : t('lz.waiting')),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
