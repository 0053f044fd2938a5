import type { HourlyBucket } from './api.ts';
import { h, s } from './dom.ts';
import { formatHour, formatNumber, t } from './i18n.ts';

const WIDTH = 480;
const HEIGHT = 120;
const AXIS = 16;
// Room on the left for the scale, so that no bar ever covers it.
const LEFT = 22;
const SERIES = ['delivered', 'failed', 'skipped'] as const;

/**
 * Deliveries finished per hour as stacked bars, drawn as inline SVG (no chart library, nothing
 * from elsewhere). Screen readers get the totals as the image's name; each bar has a tooltip.
 */
export function hourlyChart(buckets: readonly HourlyBucket[], name: string): HTMLElement {
  const totals = Object.fromEntries(
    SERIES.map((key) => [key, buckets.reduce((sum, b) => sum + b[key], 0)]),
  ) as Record<(typeof SERIES)[number], number>;
  const max = Math.max(1, ...buckets.map((b) => b.delivered + b.failed + b.skipped));
  const slot = (WIDTH - LEFT) / Math.max(1, buckets.length);
  const plot = HEIGHT - AXIS;
  const bars = buckets.map((bucket, i) => {
    let top = plot;
    const label = t('chart.bar', {
      hour: formatHour(bucket.hour),
      delivered: formatNumber(bucket.delivered),
      failed: formatNumber(bucket.failed),
      skipped: formatNumber(bucket.skipped),
    });
    const rects = SERIES.filter((key) => bucket[key] > 0).map((key) => {
      const height = Math.max(1, (bucket[key] / max) * (plot - 4));
      top -= height;
      return s('rect', {
        class: `bar-${key}`,
        x: (LEFT + i * slot + 1).toFixed(1),
        y: top.toFixed(1),
        width: (slot - 2).toFixed(1),
        height: height.toFixed(1),
      });
    });
    return s(
      'g',
      {},
      s('title', {}, label),
      // A full-height transparent target so that empty hours have a tooltip too.
      s('rect', {
        class: 'bar-hit',
        x: (LEFT + i * slot).toFixed(1),
        y: '0',
        width: slot.toFixed(1),
        height: String(plot),
      }),
      rects,
      i % 6 === 0
        ? s(
            'text',
            { class: 'axis', x: (LEFT + i * slot + 1).toFixed(1), y: String(HEIGHT - 3) },
            formatHour(bucket.hour),
          )
        : null,
    );
  });
  const summary = t('chart.summary', {
    name,
    delivered: formatNumber(totals.delivered),
    failed: formatNumber(totals.failed),
    skipped: formatNumber(totals.skipped),
  });
  return h(
    'figure',
    { class: 'chart' },
    s(
      'svg',
      { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': summary },
      s('line', {
        class: 'baseline',
        x1: String(LEFT),
        x2: String(WIDTH),
        y1: String(plot),
        y2: String(plot),
      }),
      s('line', { class: 'gridline', x1: String(LEFT), x2: String(WIDTH), y1: '4', y2: '4' }),
      s('text', { class: 'axis', x: String(LEFT - 4), y: '8', 'text-anchor': 'end' }, formatNumber(max)),
      s('text', { class: 'axis', x: String(LEFT - 4), y: String(plot), 'text-anchor': 'end' }, '0'),
      bars,
    ),
    h(
      'figcaption',
      {},
      h('span', { class: 'muted' }, t('chart.caption')),
      SERIES.map((key) =>
        h('span', { class: `legend legend-${key}` }, `${t(`status.${key}`)}: ${formatNumber(totals[key])}`),
      ),
    ),
  );
}
