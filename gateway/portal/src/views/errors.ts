import { api, publicGet, type Adapter, type ErrorEntry, type Page } from '../api.ts';
import { field, h, option, replace } from '../dom.ts';
import { formatNumber, formatTime, t } from '../i18n.ts';
import { href, navigate, type Route } from '../router.ts';
import { kindBadge, pageHeader, partnerCode } from './parts.ts';

const KINDS = ['rejected', 'skipped', 'exhausted', 'internal'] as const;
const FILTER_KEYS = ['adapter', 'kind', 'messageType', 'since', 'until', 'resolved', 'q'] as const;

/** The API's filter from the URL; an absent `resolved` means open entries, `all` means both. */
export function errorFilter(query: URLSearchParams): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const key of FILTER_KEYS) {
    const value = query.get(key);
    if (value) filter[key] = value;
  }
  if (filter.resolved === undefined) filter.resolved = 'false';
  if (filter.resolved === 'all') delete filter.resolved;
  return filter;
}

export async function errorsView(container: HTMLElement, route: Route): Promise<void> {
  const filter = errorFilter(route.query);
  const [adapters, schemas] = await Promise.all([
    api<Page<Adapter>>('GET', '/v1/adapters').then((p) => p.items.map((a) => a.name)),
    publicGet<{ items: Array<{ type: string }> }>('/v1/schemas').then((p) =>
      p.items.map((s) => s.type).filter((type) => type !== 'envelope'),
    ),
  ]);

  const select = (
    id: string,
    values: readonly string[],
    label: (v: string) => string,
    selected: string | undefined,
    anyLabel?: string,
  ) =>
    h(
      'select',
      { id, name: id },
      anyLabel ? option('', anyLabel, !selected) : null,
      values.map((v) => option(v, label(v), v === selected)),
    );
  const adapterSelect = select('f-adapter', adapters, (v) => v, filter.adapter, t('errors.any'));
  const kindSelect = select(
    'f-kind',
    KINDS,
    (v) => t(`kind.${v as (typeof KINDS)[number]}`),
    filter.kind,
    t('errors.any'),
  );
  const typeSelect = select('f-type', schemas, (v) => v, filter.messageType, t('errors.any'));
  const resolvedSelect = select(
    'f-resolved',
    ['false', 'true', 'all'],
    (v) =>
      t(v === 'false' ? 'errors.resolvedOpen' : v === 'true' ? 'errors.resolvedDone' : 'errors.resolvedAll'),
    route.query.get('resolved') ?? 'false',
  );
  const since = h('input', { id: 'f-since', type: 'datetime-local', value: toLocalInput(filter.since) });
  const until = h('input', { id: 'f-until', type: 'datetime-local', value: toLocalInput(filter.until) });
  const text = h('input', { id: 'f-q', type: 'search', value: filter.q ?? '', maxlength: 200 });

  const form = h(
    'form',
    {
      class: 'filters card',
      role: 'search',
      'aria-label': t('errors.filters'),
      onsubmit: (event) => {
        event.preventDefault();
        const query: Record<string, string | undefined> = {
          adapter: adapterSelect.value,
          kind: kindSelect.value,
          messageType: typeSelect.value,
          since: fromLocalInput(since.value),
          until: fromLocalInput(until.value),
          resolved: resolvedSelect.value === 'false' ? undefined : resolvedSelect.value,
          q: text.value.trim(),
        };
        navigate(href(['errors'], query));
      },
    },
    h(
      'div',
      { class: 'filter-grid' },
      field(t('errors.adapter'), adapterSelect),
      field(t('errors.kind'), kindSelect),
      field(t('errors.messageType'), typeSelect),
      field(t('errors.since'), since),
      field(t('errors.until'), until),
      field(t('errors.resolved'), resolvedSelect),
      field(t('errors.text'), text),
    ),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit' }, t('errors.apply')),
      h('a', { class: 'button secondary', href: href(['errors']) }, t('errors.reset')),
    ),
  );

  const notice = h('div', { class: 'status', role: 'status' });
  const summary = h('p', { class: 'summary', tabindex: -1, 'data-focus-after-update': true });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'log errors-table' },
    h('caption', { class: 'visually-hidden' }, t('errors.caption')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        [
          t('errors.time'),
          t('errors.adapter'),
          t('errors.kind'),
          t('errors.partnerCode'),
          t('errors.reason'),
        ].map((label) => h('th', { scope: 'col' }, label)),
      ),
    ),
    body,
  );
  const more = h('div', { class: 'actions' });
  const bulk = h(
    'button',
    { type: 'button', class: 'secondary', onclick: () => void bulkRetry(filter, notice, bulk, reload) },
    t('errors.bulkRetry'),
  );

  container.append(
    pageHeader(t('errors.title'), t('errors.intro'), bulk),
    form,
    notice,
    summary,
    h('div', { class: 'table-wrap' }, table),
    more,
  );

  let shown = 0;
  const load = async (cursor?: string): Promise<void> => {
    const query = new URLSearchParams({ ...filter, limit: '50', ...(cursor ? { cursor } : {}) });
    const page = await api<Page<ErrorEntry>>('GET', `/v1/errors?${query.toString()}`);
    shown += page.items.length;
    for (const entry of page.items) body.appendChild(row(entry, route.query));
    if (shown === 0)
      body.appendChild(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, t('errors.empty'))));
    summary.textContent = t(page.nextCursor ? 'errors.shownMore' : 'errors.shown', {
      n: formatNumber(shown),
    });
    replace(
      more,
      page.nextCursor
        ? h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => void load(page.nextCursor ?? undefined) },
            t('errors.loadMore'),
          )
        : null,
    );
  };
  const reload = async (): Promise<void> => {
    body.replaceChildren();
    shown = 0;
    await load();
  };
  await load();
}

function row(entry: ErrorEntry, listQuery: URLSearchParams): HTMLTableRowElement {
  const link = href(['errors', entry.id], listQuery);
  return h(
    'tr',
    { class: entry.resolvedAt ? 'resolved' : undefined },
    h('td', { class: 'nowrap' }, h('a', { href: link }, formatTime(entry.createdAt))),
    h('td', {}, entry.adapter),
    h(
      'td',
      {},
      kindBadge(entry.kind),
      entry.resolvedAt ? h('span', { class: 'badge neutral' }, t('errors.resolvedBadge')) : null,
    ),
    h('td', { class: 'nowrap' }, partnerCode(entry)),
    h(
      'td',
      {
        class: 'reason',
        title: entry.partnerAnswer ? `${entry.reason} — ${entry.partnerAnswer}` : entry.reason,
      },
      entry.reason,
      entry.partnerAnswer ? h('span', { class: 'muted' }, ` — ${oneLine(entry.partnerAnswer)}`) : null,
    ),
  );
}

async function bulkRetry(
  filter: Record<string, string>,
  notice: HTMLElement,
  opener: HTMLButtonElement,
  reload: () => Promise<void>,
): Promise<void> {
  // The bulk operation takes the list filter without `resolved`: it only ever retries open entries.
  const { resolved: _resolved, ...body } = filter;
  notice.replaceChildren();
  const count = await api<{ matched: number }>('POST', '/v1/errors/retry', { ...body, dryRun: true });
  if (count.matched === 0) {
    notice.appendChild(h('p', { class: 'notice info' }, t('errors.bulkNone')));
    return;
  }
  const confirm = h(
    'button',
    { type: 'button' },
    t('errors.bulkConfirm', { n: formatNumber(count.matched) }),
  );
  const cancel = h('button', { type: 'button', class: 'secondary' }, t('common.cancel'));
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'bulk-title', 'aria-describedby': 'bulk-text' },
    h('h2', { id: 'bulk-title' }, t('errors.bulkTitle')),
    h('p', { id: 'bulk-text' }, t('errors.bulkText', { n: formatNumber(count.matched) })),
    h('div', { class: 'actions' }, confirm, cancel),
  );
  document.body.appendChild(dialog);
  const close = () => {
    dialog.close();
    dialog.remove();
    opener.focus();
  };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', () => dialog.remove());
  confirm.addEventListener('click', () => {
    confirm.disabled = true;
    api<{ matched: number; retried: number }>('POST', '/v1/errors/retry', body)
      .then((result) => {
        close();
        notice.appendChild(
          h(
            'p',
            { class: 'notice success' },
            t('errors.bulkDone', {
              retried: formatNumber(result.retried),
              matched: formatNumber(result.matched),
            }),
          ),
        );
        return reload();
      })
      .catch((error: unknown) => {
        close();
        notice.appendChild(
          h('p', { class: 'notice error' }, t('common.actionFailed', { reason: (error as Error).message })),
        );
      });
  });
  dialog.showModal();
  cancel.focus();
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

/** `datetime-local` shows local time; the URL and the API carry UTC ISO times. */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
