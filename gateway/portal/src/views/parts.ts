import type { Attempt, ErrorEntry } from '../api.ts';
import { h, type Child } from '../dom.ts';
import { formatDuration, formatTime, hasMessage, t } from '../i18n.ts';

/** Pieces several screens share. Badges always carry their text: colour is never the only cue. */
export function pageHeader(title: string, intro: string, ...actions: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'page-header' },
    h('div', {}, h('h1', { tabindex: -1 }, title), h('p', { class: 'lead' }, intro)),
    actions.length > 0 ? h('div', { class: 'actions' }, actions) : null,
  );
}

const TONE: Record<string, string> = {
  delivered: 'good',
  rejected: 'bad',
  failed: 'bad',
  exhausted: 'bad',
  internal: 'bad',
  transient: 'warn',
  retrying: 'warn',
  pending: 'neutral',
  active: 'neutral',
  skipped: 'neutral',
  filtered: 'neutral',
  deleted: 'neutral',
  disabled: 'warn',
};

export function badge(value: string, label: string): HTMLElement {
  return h('span', { class: `badge ${TONE[value] ?? 'neutral'}` }, label);
}

export function kindBadge(kind: ErrorEntry['kind']): HTMLElement {
  return badge(kind, t(`kind.${kind}`));
}

export function statusBadge(status: string): HTMLElement {
  const key = `status.${status}`;
  return badge(status, hasMessage(key) ? t(key) : status);
}

export function outcomeBadge(outcome: Attempt['outcome']): HTMLElement {
  return badge(outcome, t(`outcome.${outcome}`));
}

/** The partner's status code, or else the rule or code that decided (a skip rule, a fault code). */
export function partnerCode(entry: Pick<ErrorEntry, 'partnerStatus' | 'code'>): string {
  return entry.partnerStatus ?? entry.code ?? '–';
}

export function details(pairs: ReadonlyArray<readonly [string, Child]>): HTMLElement {
  return h(
    'dl',
    { class: 'details' },
    pairs.map(([term, value]) =>
      h(
        'div',
        {},
        h('dt', {}, term),
        h('dd', {}, value === null || value === undefined || value === '' ? '–' : value),
      ),
    ),
  );
}

export function code(text: string | null | undefined, label: string): HTMLElement {
  // Focusable and labelled, so that a keyboard user can scroll a long body.
  return h('pre', { class: 'code', tabindex: 0, 'aria-label': label }, prettyJson(text ?? ''));
}

export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** Every attempt with its evidence: what was sent and what the partner answered. */
export function attemptList(attempts: readonly Attempt[], origin?: string): HTMLElement {
  if (attempts.length === 0) return h('p', { class: 'empty' }, t('attempts.none'));
  return h(
    'ol',
    { class: 'timeline' },
    attempts.map((attempt) =>
      h(
        'li',
        { class: `tl-${attempt.outcome}` },
        h(
          'div',
          { class: 'tl-head' },
          h('strong', {}, t('attempts.number', { n: attempt.number })),
          outcomeBadge(attempt.outcome),
          h('span', { class: 'muted' }, formatTime(attempt.startedAt)),
          origin
            ? h(
                'span',
                { class: 'offset', title: t('attempts.offsetHint') },
                `+${formatDuration(Math.max(0, Date.parse(attempt.startedAt) - Date.parse(origin)))}`,
              )
            : null,
          attempt.durationMs !== null
            ? h('span', { class: 'muted' }, formatDuration(attempt.durationMs))
            : null,
        ),
        attempt.reason ? h('p', { class: 'tl-reason' }, attempt.reason) : null,
        details([
          [t('attempts.code'), attempt.code],
          [t('attempts.request'), attempt.request?.summary],
          [t('attempts.responseStatus'), attempt.response?.status],
          [t('attempts.nextAttempt'), attempt.nextAttemptAt ? formatTime(attempt.nextAttemptAt) : null],
        ]),
        attempt.request?.body
          ? h(
              'details',
              {},
              h('summary', {}, t('attempts.requestBody')),
              code(attempt.request.body, t('attempts.requestBody')),
            )
          : null,
        attempt.response?.body
          ? h(
              'details',
              { open: attempt.outcome !== 'delivered' },
              h('summary', {}, t('attempts.responseBody')),
              code(attempt.response.body, t('attempts.responseBody')),
            )
          : null,
      ),
    ),
  );
}
