import { api, type Adapter, type HourlyBucket, type Page } from '../api.ts';
import { hourlyChart } from '../chart.ts';
import { h, replace, type Child } from '../dom.ts';
import { formatClock, formatDuration, formatNumber, t } from '../i18n.ts';
import { href } from '../router.ts';
import { badge, details, pageHeader } from './parts.ts';

const REFRESH_MS = 5000;

/** Every adapter with health, retry policy and counts, polled every few seconds while shown. */
export async function adaptersView(container: HTMLElement): Promise<() => void> {
  const list = h('div', { class: 'adapter-list' });
  const updated = h('p', { class: 'muted updated' });
  container.append(pageHeader(t('adapters.title'), t('adapters.intro')), updated, list);

  const cards = new Map<string, HTMLElement>();
  const refresh = async (): Promise<void> => {
    const { items } = await api<Page<Adapter>>('GET', '/v1/adapters');
    const stats = await Promise.all(
      items.map((adapter) =>
        api<Page<HourlyBucket>>(
          'GET',
          `/v1/stats/hourly?${new URLSearchParams({ adapter: adapter.name, hours: '24' }).toString()}`,
        ),
      ),
    );
    if (items.length === 0) replace(list, h('p', { class: 'notice info' }, t('adapters.none')));
    items.forEach((adapter, i) => {
      let card = cards.get(adapter.name);
      if (!card) {
        card = h('section', {
          class: 'card adapter',
          'aria-labelledby': `a-${adapter.name}`,
          'data-adapter': adapter.name,
        });
        cards.set(adapter.name, card);
        list.appendChild(card);
      }
      replace(card, ...adapterCard(adapter, stats[i]?.items ?? []));
    });
    updated.textContent = t('adapters.updated', { time: formatClock(new Date()) });
  };

  await refresh();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = () => {
    timer = setTimeout(() => {
      refresh()
        .catch(() => {
          updated.textContent = t('adapters.refreshFailed');
        })
        .finally(() => {
          if (!stopped) schedule();
        });
    }, REFRESH_MS);
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function adapterCard(adapter: Adapter, hourly: readonly HourlyBucket[]): Child[] {
  const policy = adapter.retryPolicy;
  const delays = policy.delaysMs.map(formatDuration).join(', ');
  const after = t(policy.afterLast === 'fail' ? 'adapters.thenFail' : 'adapters.thenRepeat');
  const count = (key: keyof Adapter['counts'], label: string) =>
    h(
      'div',
      { class: `count count-${key}` },
      h('span', { class: 'count-value' }, formatNumber(adapter.counts[key])),
      h('span', { class: 'count-label' }, label),
    );
  return [
    h(
      'div',
      { class: 'adapter-head' },
      h('h2', { id: `a-${adapter.name}` }, adapter.name),
      adapter.health.ok
        ? badge('delivered', t('adapters.healthy'))
        : badge('failed', t('adapters.unhealthy')),
    ),
    adapter.health.ok || !adapter.health.detail
      ? null
      : h('p', { class: 'notice warning' }, adapter.health.detail),
    h(
      'div',
      { class: 'counts', role: 'group', 'aria-label': t('adapters.counts') },
      count('pending', t('adapters.pending')),
      count('delivered', t('status.delivered')),
      count('failed', t('status.failed')),
      count('skipped', t('status.skipped')),
    ),
    details([
      [t('adapters.retry'), `${delays}, ${after}`],
      [t('adapters.retrySource'), t(`adapters.source.${adapter.retryPolicySource}`)],
      [t('adapters.dispatch'), t(`adapters.dispatch.${adapter.dispatch}`)],
      [t('adapters.accepts'), adapter.accepts.join(', ')],
    ]),
    hourlyChart(hourly, adapter.name),
    h(
      'p',
      {},
      h(
        'a',
        { href: href(['errors'], { adapter: adapter.name }) },
        t('adapters.openErrors', { name: adapter.name }),
      ),
    ),
  ];
}
