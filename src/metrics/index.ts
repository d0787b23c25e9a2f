/** Evaluation metrics: exact AUC, logloss, gAUC / avgAUC, calibration, per-slice reports. */
export { auc } from './auc.js';
export { bootstrapAucDiff, type AucDiffBootstrap } from './auc-bootstrap.js';
export { logloss, LOGLOSS_EPS } from './logloss.js';
export { calibration, calibrationStats, calibratedProbabilities, type CalibrationStats } from './calibration.js';
export { gauc, avgAuc, groupAuc, type GroupAucStats } from './gauc.js';
export { evaluate, type EvalReport, type EvaluateOptions, type MetricSummary } from './evaluate.js';
export { rankScores, type Ranked } from './sort.js';
export { softLabelAuc, clickConversionReport, type ClickConversionScores, type ClickConversionReport } from './click-conversion.js';
