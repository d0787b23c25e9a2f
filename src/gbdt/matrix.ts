/** One feature column of a tree input: numbers (NaN = missing) or categorical ids. */
export type FeatureColumn = Float32Array | Int32Array;

/**
 * The input of the booster: column-major features, one typed array of `rows` values per
 * feature. NaN in a Float32Array column is a missing value (it takes the split's learned
 * default direction); categorical fields are given as their encoded ids (Int32Array).
 */
export interface FeatureMatrix {
  rows: number;
  names: string[];
  columns: FeatureColumn[];
}

/** Checks that every column has `rows` values and the names match the columns. */
export function checkMatrix(m: FeatureMatrix, where: string): void {
  if (m.names.length !== m.columns.length) throw new Error(`${where}: ${m.names.length} feature names for ${m.columns.length} columns`);
  if (m.columns.length === 0) throw new Error(`${where}: no feature columns`);
  m.columns.forEach((c, j) => {
    if (c.length !== m.rows) throw new Error(`${where}: feature '${m.names[j]}' has ${c.length} values, expected ${m.rows}`);
  });
}
