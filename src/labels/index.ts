/** Label builder: event log → one labeled row per impression (click, conversion, dwell, completion, return), time split with a gap. */
export {
  loadLabelConfig,
  parseLabelConfig,
  parseDuration,
  parseTime,
  labelHorizon,
  type LabelConfig,
  type LabelRule,
  type HistoryRule,
  type TimeUnit,
} from './config.js';
export { ReorderBuffer, type LogEvent, type ReorderStats } from './reorder.js';
export { LabelEngine, type LabeledRow, type EngineStats } from './engine.js';
export { buildLabelFiles, readEvents, type LabelRunReport } from './run.js';
