/**
 * A batch of encoded rows: what readers + feature map produce and models consume.
 * Column-major typed arrays keyed by feature name (the schema's column names).
 *
 * Id conventions (shared by every encoder and embedding table): id 0 is the padding row,
 * id 1 the out-of-vocabulary row, known values start at 2. Varlen and sequence fields are
 * padded to their max length with id 0 and carry their true lengths.
 */
export interface Batch {
  /** Number of rows. */
  size: number;
  /** Sparse (categorical) fields: one id per row, [size]. */
  sparse: Record<string, Int32Array>;
  /** Dense (numeric) fields after their transform: [size]. */
  dense: Record<string, Float32Array>;
  /** Varlen and sequence fields: ids [size × maxLen], row-major, padded with 0. */
  varlen: Record<string, PaddedIds>;
  /** Labels by name (0/1 for binary tasks): [size]. */
  labels: Record<string, Float32Array>;
  /** Optional sample weights: [size]. */
  weight?: Float32Array;
  /** Optional group ids (e.g. user) for gAUC and per-group slices: [size]. */
  group?: Int32Array;
  /**
   * Fields whose value is the same on every row: a rank request's context broadcast over its
   * candidates (set by the server's encoder). Eval-mode layers may compute those fields' part
   * once (`linearSharedRows`). Operations that build a new batch from rows (concat, slice,
   * rebatch) do not carry it, so it never outlives the rows it describes.
   */
  sharedFields?: ReadonlySet<string>;
}

/** Padded multi-value ids: row r holds ids[r·maxLen … r·maxLen + lengths[r] − 1]. */
export interface PaddedIds {
  ids: Int32Array;
  lengths: Int32Array;
  maxLen: number;
}

/** Index of the padding row in every embedding table. */
export const PADDING_ID = 0;
/** Index of the out-of-vocabulary row in every vocabulary-encoded table. */
export const OOV_ID = 1;
/** First id of a known value. */
export const FIRST_KNOWN_ID = 2;
