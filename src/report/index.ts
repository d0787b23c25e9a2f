/** Group-bias report: per-group AUC, gAUC, logloss, calibration and ECE, flags, and a self-contained HTML page. */
export { buildReport, type BiasReport, type GroupMetrics, type ReportOptions } from './build.js';
export { renderReportHtml } from './html.js';
export { reliability, rocCurve, type Reliability, type ReliabilityBin } from './curves.js';
export { builtinGroupOf, BUILTIN_GROUPS, vocabOf, type ActivityThresholds, type BuiltinGroup } from './groups.js';
