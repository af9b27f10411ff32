/**
 * summary.html: the one-page report of an evidence bundle, for a person rather than a program. Horizontal bar
 * charts in inline SVG, no script, no stylesheet or font from elsewhere, so it opens the same offline, in a mail
 * client's preview or printed. Rendered from the summary and the digest only: the verifier renders it again and
 * compares byte for byte.
 */
import type { DigestSummary } from '../audit/audit-digest.math';
import { escapeHtml } from '../html-text';
import { SUMMARY_OUTCOMES, normaliseSummary, type EvidenceSummary } from './evidence-summary';

/** What the page names besides the figures. */
export interface SummaryPageContext {
  bundleId: string;
  digest: DigestSummary;
}

const BAR_COLOUR = '#2f5597';
const ALERT_COLOUR = '#b4262a';

interface Bar {
  label: string;
  value: number;
  alert?: boolean;
}

/** One horizontal bar chart: a label column, bars scaled to the largest value, the value after each bar. */
function barChart(title: string, bars: readonly Bar[]): string {
  const labelWidth = 210;
  const barWidth = 330;
  const rowHeight = 24;
  const width = labelWidth + barWidth + 70;
  const height = bars.length * rowHeight + 8;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rows = bars.map((b, i) => {
    const y = 4 + i * rowHeight;
    const w = b.value === 0 ? 0 : Math.max(2, Math.round((b.value / max) * barWidth));
    const colour = b.alert && b.value > 0 ? ALERT_COLOUR : BAR_COLOUR;
    return (
      `<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${escapeHtml(b.label)}</text>` +
      `<rect x="${labelWidth}" y="${y + 3}" width="${w}" height="${rowHeight - 8}" fill="${colour}"/>` +
      `<text x="${labelWidth + w + 6}" y="${y + 16}">${b.value}</text>`
    );
  });
  const description = bars.map((b) => `${b.label}: ${b.value}`).join(', ');
  return (
    `<figure><figcaption>${escapeHtml(title)}</figcaption>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-label="${escapeHtml(`${title}: ${description}`)}" font-family="Segoe UI, Arial, sans-serif" ` +
    `font-size="13" fill="#222">\n${rows.join('\n')}\n</svg></figure>`
  );
}

function figureRow(label: string, value: number | string): string {
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${escapeHtml(String(value))}</td></tr>`;
}

/** The page's HTML text (UTF-8, final newline). */
export function renderSummaryHtml(summary: EvidenceSummary, ctx: SummaryPageContext): string {
  const s = normaliseSummary(summary);
  const d = ctx.digest;
  const reasons = Object.entries(s.revocations.byReason).map(([label, value]) => ({ label, value }));
  const codes = Object.entries(s.refusedAttempts.byCode);
  const charts = [
    barChart('Activity in the period', [
      { label: 'requests submitted', value: s.requests.submitted },
      { label: 'approvals', value: s.approvals.approved },
      { label: 'denials', value: s.approvals.denied },
      { label: 'grants', value: s.grants },
      { label: 'revocations', value: s.revocations.total },
    ]),
    barChart('Revocations in the period, by reason', reasons),
    barChart(
      'Lifecycles in the bundle, by outcome',
      SUMMARY_OUTCOMES.map((o) => ({
        label: o,
        value: s.requests.byOutcome[o],
        alert: o === 'revoking' || o === 'failed',
      })),
    ),
    barChart('Access reviews', [
      { label: 'campaigns started', value: s.reviews.started },
      { label: 'decisions: keep', value: s.reviews.kept },
      { label: 'decisions: revoke', value: s.reviews.revoked },
      { label: 'campaigns completed', value: s.reviews.completed },
      { label: 'campaigns overdue', value: s.reviews.overdue, alert: true },
    ]),
    barChart('Exceptions', [
      { label: 'revocations overdue (open)', value: s.overdueRevocations.open, alert: true },
      { label: 'overdue removals carried out', value: s.overdueRevocations.carriedOut, alert: true },
      { label: 'drift: unexplained members', value: s.drift.found, alert: true },
      { label: 'drift: removed outside Attest', value: s.drift.removedOutside, alert: true },
      { label: 'refused attempts', value: s.refusedAttempts.total },
    ]),
  ];
  const codeTable =
    codes.length === 0
      ? '<p>No refused attempts in the period.</p>'
      : `<table><thead><tr><th scope="col">refused attempt (code)</th><th scope="col">count</th></tr></thead><tbody>\n${codes
          .map(([code, n]) => figureRow(code, n))
          .join('\n')}\n</tbody></table>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Attest evidence ${escapeHtml(ctx.bundleId)}</title>
<style>
body { font-family: "Segoe UI", Arial, sans-serif; color: #222; max-width: 760px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; }
p.meta, p.note { color: #555; font-size: 13px; }
table { border-collapse: collapse; margin: 12px 0; font-size: 14px; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid #ddd; }
figure { margin: 16px 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
code { font-size: 12px; word-break: break-all; }
@media print { body { margin: 0; } }
</style>
</head>
<body>
<h1>Access evidence, ${escapeHtml(s.period.from.slice(0, 10))} to ${escapeHtml(s.period.to.slice(0, 10))}</h1>
<p class="meta">Period ${escapeHtml(s.period.from)} (inclusive) to ${escapeHtml(s.period.to)} (exclusive); as of ${escapeHtml(s.asOf)}. Bundle ${escapeHtml(ctx.bundleId)}: ${s.bundle.streams} streams, ${s.bundle.events} events.</p>
<table><tbody>
${[
  figureRow('requests submitted', s.requests.submitted),
  figureRow('approvals / denials', `${s.approvals.approved} / ${s.approvals.denied}`),
  figureRow('grants', s.grants),
  figureRow('revocations', s.revocations.total),
  figureRow('revocations overdue (open at the as-of time)', s.overdueRevocations.open),
  figureRow('reviews completed / overdue', `${s.reviews.completed} / ${s.reviews.overdue}`),
  figureRow('drift found', s.drift.found + s.drift.removedOutside),
  figureRow('refused attempts', s.refusedAttempts.total),
].join('\n')}
</tbody></table>
${charts.join('\n')}
${codeTable}
<p class="note">Anchored digest ${d.seq} of ${escapeHtml(d.time)}: root <code>${escapeHtml(d.root)}</code>, hash <code>${escapeHtml(d.hash)}</code>. Every figure is recomputed from events.jsonl by <code>attest verify --bundle &lt;folder&gt; --anchor ${d.seq}:${escapeHtml(d.hash)}</code>, which needs no access to Attest's storage.</p>
</body>
</html>
`;
}
