/**
 * Renders a bias report as one self-contained HTML page: tables of the numbers, the flagged
 * groups, and charts (ROC curve, reliability diagram, per-group AUC and calibration bars)
 * drawn by Chart.js, whose UMD build is inlined into the page — nothing is fetched when the
 * page is viewed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BiasReport, GroupMetrics } from './build.js';

/** The Chart.js UMD bundle (from the chart.js npm package). */
function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js');
  return readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Text that is safe inside a <script> element. */
function scriptSafe(s: string): string {
  return s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function num(x: number | undefined, d = 4): string {
  return x === undefined || Number.isNaN(x) ? '–' : Number.isFinite(x) ? x.toFixed(d) : String(x);
}

function row(name: string, m: GroupMetrics): string {
  const cls = m.flags.length > 0 ? ' class="flag"' : '';
  return (
    `<tr${cls}><td>${esc(name)}</td><td>${m.rows}</td><td>${m.positives}</td><td>${num(m.auc)}</td><td>${num(m.gauc)}</td><td>${num(m.logloss)}</td>` +
    `<td>${num(m.meanPrediction)}</td><td>${num(m.positiveRate)}</td><td>${num(m.calibration, 3)}</td><td>${num(m.ece)}</td><td>${esc(m.flags.join('; '))}</td></tr>`
  );
}

const HEAD =
  '<tr><th>group</th><th>rows</th><th>positives</th><th>AUC</th><th>gAUC</th><th>logloss</th><th>mean pred</th><th>observed</th><th>calibration</th><th>ECE</th><th>flags</th></tr>';

/** The page for a report. */
export function renderReportHtml(r: BiasReport): string {
  const flagged = Object.entries(r.groups).flatMap(([g, byV]) =>
    Object.entries(byV)
      .filter(([, m]) => m.flags.length > 0)
      .map(([v, m]) => `<li><b>${esc(g)} = ${esc(v)}</b>: ${esc(m.flags.join('; '))}</li>`),
  );
  const sections = Object.entries(r.groups)
    .map(
      ([g, byV], k) => `
<h2>By ${esc(g)}</h2>
<div class="charts"><div class="chart"><canvas id="auc-${k}"></canvas></div><div class="chart"><canvas id="cal-${k}"></canvas></div></div>
<table>${HEAD}${Object.entries(byV)
        .map(([v, m]) => row(v, m))
        .join('')}</table>`,
    )
    .join('\n');
  const data = JSON.stringify({
    roc: r.roc,
    reliability: r.reliability,
    groups: Object.entries(r.groups).map(([g, byV]) => ({
      name: g,
      values: Object.keys(byV),
      auc: Object.values(byV).map((m) => (Number.isFinite(m.auc) ? m.auc : null)),
      calibration: Object.values(byV).map((m) => (Number.isFinite(m.calibration) ? m.calibration : null)),
      flagged: Object.values(byV).map((m) => m.flags.length > 0),
    })),
    overall: { auc: r.overall.auc, calibration: r.overall.calibration },
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>finerank bias report: ${esc(r.model)} on ${esc(r.data)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child,td:last-child{text-align:left}
tr.flag{background:#fde2e2}.charts{display:flex;flex-wrap:wrap;gap:2em}.chart{width:460px;height:320px}
</style></head><body>
<h1>Group-bias report</h1>
<p>Model <b>${esc(r.model)}</b>, task <b>${esc(r.task)}</b> (label <b>${esc(r.label)}</b>${r.where ? `, rows where ${esc(r.where)} = 1` : ''}) on <code>${esc(r.data)}</code>. Flags: AUC more than ${r.settings.maxAucGap} below the whole,
or a calibration ratio (mean prediction / observed rate) more than ${r.settings.maxCalibrationGap} from the whole's, in groups of at least ${r.settings.minRows} rows.</p>
<table>${HEAD}${row('all rows', r.overall)}</table>
<h2>Flagged groups</h2>${flagged.length === 0 ? '<p>None.</p>' : `<ul>${flagged.join('')}</ul>`}
<div class="charts"><div class="chart"><canvas id="roc"></canvas></div><div class="chart"><canvas id="rel"></canvas></div></div>
${sections}
<script>${scriptSafe(chartJsSource())}</script>
<script>
const R = ${scriptSafe(data)};
Chart.defaults.animation = false;
new Chart(document.getElementById('roc'), {type: 'line', data: {datasets: [
  {label: 'ROC (AUC ' + R.overall.auc.toFixed(4) + ')', data: R.roc.fpr.map((x, i) => ({x, y: R.roc.tpr[i]})), pointRadius: 0, borderColor: '#1f77b4'},
  {label: 'chance', data: [{x: 0, y: 0}, {x: 1, y: 1}], pointRadius: 0, borderDash: [4, 4], borderColor: '#999'}]},
  options: {maintainAspectRatio: false, scales: {x: {type: 'linear', min: 0, max: 1, title: {display: true, text: 'false positive rate'}}, y: {min: 0, max: 1, title: {display: true, text: 'true positive rate'}}}}});
new Chart(document.getElementById('rel'), {type: 'line', data: {datasets: [
  {label: 'observed rate per bin', data: R.reliability.filter((b) => b.rows > 0).map((b) => ({x: b.meanPrediction, y: b.positiveRate})), borderColor: '#d62728'},
  {label: 'perfect calibration', data: [{x: 0, y: 0}, {x: 1, y: 1}], pointRadius: 0, borderDash: [4, 4], borderColor: '#999'}]},
  options: {maintainAspectRatio: false, plugins: {title: {display: true, text: 'Reliability diagram'}}, scales: {x: {type: 'linear', min: 0, max: 1, title: {display: true, text: 'mean prediction'}}, y: {min: 0, max: 1, title: {display: true, text: 'observed rate'}}}}});
R.groups.forEach((g, k) => {
  const colors = g.flagged.map((f) => (f ? '#d62728' : '#1f77b4'));
  new Chart(document.getElementById('auc-' + k), {type: 'bar', data: {labels: g.values, datasets: [{label: 'AUC by ' + g.name + ' (whole: ' + R.overall.auc.toFixed(4) + ')', data: g.auc, backgroundColor: colors}]},
    options: {maintainAspectRatio: false, scales: {y: {suggestedMin: 0.5, suggestedMax: 1}}}});
  new Chart(document.getElementById('cal-' + k), {type: 'bar', data: {labels: g.values, datasets: [{label: 'calibration (mean pred / observed) by ' + g.name, data: g.calibration, backgroundColor: colors}]},
    options: {maintainAspectRatio: false}});
});
document.body.dataset.rendered = 'yes';
</script>
</body></html>
`;
}
