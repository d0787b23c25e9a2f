import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defineSchema,
  dense,
  group,
  label,
  loadSchema,
  parseSchema,
  schemaToJSON,
  sequence,
  sparse,
  varlen,
  weight,
  validateSchema,
  sharingRoot,
} from '../../src/features/schema.js';
import { SchemaError } from '../../src/readers/errors.js';

const YAML = `
dataset:
  format: csv
  columns: [click, user_id, item_id, price, age, genres, hist_item_id, w]
  header: false
columns:
  - {name: click, role: label}
  - {name: user_id, role: sparse, embeddingDim: 16, encoder: {type: vocab, minCount: 2}}
  - {name: item_id, role: sparse, encoder: {type: hash, buckets: 1000}, use: deep}
  - {name: price, role: dense, transform: [log1p, standardize], missing: mean}
  - {name: age, role: dense, transform: [{clip: [0, 100]}, {bucketize: {quantiles: 10}}], embeddingDim: 4}
  - {name: genres, role: varlen, sep: "|", maxLen: 5, pooling: mean}
  - {name: hist_item_id, role: sequence, maxLen: 50, shareWith: item_id}
  - {name: user_id, role: group}
  - {name: w, role: weight}
`;

function builderSchema() {
  return defineSchema({
    dataset: { format: 'csv', columns: ['click', 'user_id', 'item_id', 'price', 'age', 'genres', 'hist_item_id', 'w'], header: false },
    columns: [
      label('click'),
      sparse('user_id', { embeddingDim: 16, encoder: { type: 'vocab', minCount: 2 } }),
      sparse('item_id', { encoder: { type: 'hash', buckets: 1000 }, use: 'deep' }),
      dense('price', { transform: ['log1p', 'standardize'], missing: 'mean' }),
      dense('age', { transform: [{ clip: [0, 100] }, { bucketize: { quantiles: 10 } }], embeddingDim: 4 }),
      varlen('genres', { sep: '|', maxLen: 5, pooling: 'mean' }),
      sequence('hist_item_id', { maxLen: 50, shareWith: 'item_id' }),
      group('user_id'),
      weight('w'),
    ],
  });
}

test('YAML file, JSON file and the builder API give the same schema, with defaults filled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-schema-'));
  writeFileSync(join(dir, 's.yaml'), YAML);
  const fromYaml = loadSchema(join(dir, 's.yaml'));
  const fromCode = builderSchema();
  assert.deepEqual(fromYaml, fromCode);
  writeFileSync(join(dir, 's.json'), JSON.stringify(schemaToJSON(fromCode)));
  assert.deepEqual(loadSchema(join(dir, 's.json')), fromCode);
  const u = fromCode.columns[1]!;
  assert.deepEqual(u, {
    role: 'sparse',
    name: 'user_id',
    source: 'user_id',
    encoder: { type: 'vocab', minCount: 2 },
    embeddingDim: 16,
    use: 'both',
    missing: { policy: 'value', value: '' },
  });
  const age = fromCode.columns[4]!;
  assert.ok(age.role === 'dense');
  assert.deepEqual(age.transform, [{ type: 'clip', min: 0, max: 100 }]);
  assert.deepEqual(age.bucketize, { method: 'quantile', buckets: 10 });
  const hist = fromCode.columns[6]!;
  assert.ok(hist.role === 'sequence');
  assert.equal(hist.keep, 'last');
  assert.equal(sharingRoot(fromCode, 'hist_item_id'), 'item_id');
  assert.equal(fromCode.dataset!.separator, ',');
});

function err(text: string, file = 'schema.yaml'): string {
  try {
    parseSchema(text, file);
  } catch (e) {
    assert.ok(e instanceof SchemaError, String(e));
    return e.message;
  }
  assert.fail('schema accepted');
}

test('schema errors name the path in the file', () => {
  const base = 'columns:\n  - {name: click, role: label}\n';
  assert.equal(
    err(base + '  - {name: a, role: sparse}\n  - {name: b, role: sparse}\n  - {name: c, role: sparse, encoder: {type: vocab, minCount: -2}}\n'),
    'schema.yaml: columns[3].encoder.minCount must be a positive integer',
  );
  assert.equal(
    err(base + '  - {name: a, role: sparse, encoder: {type: hash}}\n'),
    'schema.yaml: columns[1].encoder.buckets is required (must be a positive integer)',
  );
  assert.equal(
    err(base + '  - {name: a, role: sparce}\n'),
    'schema.yaml: columns[1].role must be one of sparse, dense, varlen, sequence, label, group, weight (got "sparce")',
  );
  assert.equal(err(base + '  - {name: a, role: sparse, minCnt: 3}\n'), 'schema.yaml: columns[1] has unknown key "minCnt"');
  assert.equal(err(base + '  - {name: a, role: varlen}\n'), 'schema.yaml: columns[1].maxLen is required (must be a positive integer)');
  assert.equal(
    err(base + '  - {name: h, role: sequence, maxLen: 3, shareWith: item}\n'),
    'schema.yaml: columns[1].shareWith names "item", which is not a sparse, varlen or sequence feature of this schema',
  );
  assert.match(
    err(base + '  - {name: a, role: sparse, shareEmbeddingWith: b}\n  - {name: b, role: sparse, shareEmbeddingWith: a}\n'),
    /columns\[1\]\.shareEmbeddingWith forms a sharing cycle/,
  );
  assert.match(
    err(base + '  - {name: p, role: dense, transform: [standardize, log1p]}\n'),
    /^schema\.yaml: columns\[1\]\.transform\[1\] must not follow standardize/,
  );
  assert.equal(
    err(base + '  - {name: p, role: dense, transform: [{clip: [5, 1]}]}\n'),
    'schema.yaml: columns[1].transform[0].clip must be [lo, hi] with numbers lo ≤ hi',
  );
  assert.equal(
    err(base + '  - {name: p, role: dense, transform: [{bucketize: {boundaries: [1, 1]}}]}\n'),
    'schema.yaml: columns[1].transform[0].bucketize.boundaries[1] must be greater than the previous boundary (strictly increasing)',
  );
  assert.equal(err('columns:\n  - {name: a, role: sparse}\n'), 'schema.yaml: columns must contain at least one column with role: label');
  assert.equal(
    err('dataset: {format: csv, header: false}\n' + base),
    'schema.yaml: dataset.columns is required when header is false (declare the column order)',
  );
  assert.equal(err('dataset: {format: libsvm}\n' + base), 'schema.yaml: dataset.fields is required for libsvm (or give dataset.fieldMap)');
  assert.equal(
    err('dataset: {format: csv, columns: [click, user]}\n' + base + '  - {name: uid, role: sparse}\n'),
    'schema.yaml: columns[1].name names column "uid", which the dataset does not declare (declared: click, user)',
  );
  assert.match(
    err('dataset: {format: libsvm, fields: [{name: a, range: [0, 10]}, {name: b, range: [10, 20]}]}\n' + base),
    /dataset\.fields\[1\]\.range overlaps the range of fields\[0\]/,
  );
  assert.equal(
    err(base + '  - {name: a, role: sparse}\n  - {name: a, role: dense}\n'),
    'schema.yaml: columns[2].name repeats feature "a" (first at columns[1])',
  );
  assert.match(err('columns: [{name: click, role: label}\n', 'bad.yaml'), /^bad\.yaml: is not valid YAML/);
});

test('libsvm schema: fields give the declared columns; the label defaults to the first label', () => {
  const s = validateSchema(
    {
      dataset: {
        format: 'libfm',
        fields: [
          { name: 'user', range: [0, 9] },
          { name: 'price', range: [10, 10], as: 'value' },
        ],
      },
      columns: [
        { name: 'click', role: 'label' },
        { name: 'user', role: 'sparse' },
        { name: 'price', role: 'dense' },
      ],
    },
    's.json',
  );
  assert.equal(s.dataset!.label, 'click');
  assert.deepEqual(s.dataset!.fields![1], { name: 'price', range: [10, 10], as: 'value' });
});
