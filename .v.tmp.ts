import { loadSchema } from './src/features/schema.js';
import { fitFeatureMap, streamBatches } from './src/data/stream.js';
for (const [dir, ext] of [['/tmp/cs', 'csv'], ['/tmp/fr', 'libfm'], ['/tmp/seq2', 'csv'], ['/tmp/mt2', 'csv']] as const) {
  try {
    const schema = loadSchema(`${dir}/schema.json`);
    const fm = await fitFeatureMap(`${dir}/train.${ext}`, schema, {});
    let rows = 0, pos = 0;
    for await (const b of streamBatches(`${dir}/test.${ext}`, fm, { batchSize: 4096 } as any)) {
      rows += b.size;
      const l = Object.values(b.labels)[0]!;
      for (let i = 0; i < b.size; i++) pos += l[i]!;
      if (rows === b.size) console.log(dir, Object.keys(b.sparse).length, 'sparse', Object.keys(b.dense).length, 'dense', Object.keys(b.varlen), Object.keys(b.labels), b.group ? 'group' : '');
    }
    console.log(dir, 'test rows', rows, 'pos', pos);
  } catch (e) { console.log(dir, 'ERROR', (e as Error).message); }
}
