/**
 * How a data file is laid out: format, header, separators and, for libsvm/libfm, the field
 * ranges. Owned by the readers (the lowest data layer); the schema embeds it as `dataset`.
 */
/** Input file formats. */
export type DataFormat = 'csv' | 'tsv' | 'libsvm' | 'libfm' | 'jsonl' | 'parquet';

/** One libsvm/libfm field: feature indices lo..hi inclusive. */
export interface LibsvmField {
  name: string;
  range: [number, number];
  /** `index`: the raw value is the feature index present (one-hot); `value`: its value. */
  as: 'index' | 'value';
}

/** How a data file is laid out. */
export interface DatasetSpec {
  format: DataFormat;
  header: boolean;
  columns?: string[];
  separator: string;
  quote: string;
  fields?: LibsvmField[];
  fieldMap?: Record<string, string>;
  label?: string;
}
