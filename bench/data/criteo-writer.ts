/**
 * A simple Criteo-shaped CSV writer for the data benchmark (used when the synthetic
 * generators of src/data/synth/ are not available): header `label,I1..I13,C1..C26`;
 * label ~ Bernoulli(0.26) (Criteo's positive rate); I-columns are heavy-tailed counts
 * ⌊exp(N(μ, σ))⌋ (I2 sometimes −1..−3 as in Criteo), missing with field-specific
 * probabilities; C-columns are 8-hex-digit tokens hex(murmur3(id, field)) with ids drawn from
 * a Zipf-like power law P(id) ∝ (id+1)^(−1.1) over field vocabularies from 4 to 2·10⁶
 * values, missing with field-specific probabilities. Deterministic by seed.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { murmur3String } from '../../src/features/hash.js';

/** mulberry32: a small, fast seeded generator (the data shape, not its statistics, matters here). */
function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box–Muller. */
function normal(next: () => number, mu: number, sigma: number): number {
  const u = 1 - next();
  return mu + sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

const VOCAB = [1460, 583, 1e6, 2e5, 305, 24, 12517, 633, 3, 93145, 5683, 1e6, 3194, 27, 14992, 5e5, 10, 5652, 2173, 4, 1e6, 18, 15, 2e5, 105, 142572];
const MISS_C = [0, 0, 0.03, 0.03, 0, 0.12, 0, 0, 0, 0, 0, 0.03, 0, 0, 0, 0.03, 0, 0, 0.44, 0.44, 0.03, 0.76, 0, 0.03, 0.44, 0.44];
const MISS_I = [0.45, 0, 0.21, 0.22, 0.03, 0.22, 0.04, 0, 0.04, 0.45, 0.04, 0.77, 0.22];
const MU_I = [0.7, 2.5, 1.8, 1.5, 7.5, 3.5, 1.5, 2.2, 3.8, 0.2, 1.0, 0.3, 1.6];

/** Writes `rows` Criteo-shaped rows to `path`; resolves with the bytes written. */
export async function writeCriteoCsv(path: string, rows: number, seed = 1): Promise<number> {
  const next = mulberry32(seed);
  const cache = VOCAB.map(() => new Map<number, string>());
  const token = (j: number, id: number): string => {
    const c = cache[j]!;
    let t = c.get(id);
    if (t === undefined) {
      t = (murmur3String(String(id), j + 1) >>> 0).toString(16).padStart(8, '0');
      if (id < 20000) c.set(id, t);
    }
    return t;
  };
  const out = createWriteStream(path, { highWaterMark: 1 << 22 });
  const header =
    ['label', ...Array.from({ length: 13 }, (_, i) => `I${i + 1}`), ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`)].join(',') + '\n';
  out.write(header);
  let bytes = header.length;
  const s = 1.1;
  const pw = VOCAB.map((v) => Math.pow(v + 1, 1 - s) - 1);
  let buf = '';
  for (let r = 0; r < rows; r++) {
    let line = next() < 0.26 ? '1' : '0';
    for (let j = 0; j < 13; j++) {
      line += ',';
      if (next() < MISS_I[j]!) continue;
      if (j === 1 && next() < 0.1) {
        line += String(-1 - Math.floor(next() * 3));
        continue;
      }
      line += String(Math.floor(Math.exp(normal(next, MU_I[j]!, 1.3))));
    }
    for (let j = 0; j < 26; j++) {
      line += ',';
      if (next() < MISS_C[j]!) continue;
      // Inverse CDF of the continuous power law on [1, V+1): x = (1 + u·((V+1)^(1−s) − 1))^(1/(1−s)).
      const x = Math.pow(1 + next() * pw[j]!, 1 / (1 - s));
      const id = Math.min(VOCAB[j]! - 1, Math.floor(x) - 1);
      line += token(j, id);
    }
    buf += line + '\n';
    if (buf.length > 1 << 20) {
      bytes += buf.length;
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  bytes += buf.length;
  out.write(buf);
  out.end();
  await once(out, 'finish');
  return bytes;
}
