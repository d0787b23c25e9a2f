import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../../src/engine/random.js';
import { kernels } from '../../src/engine/kernels/index.js';
import { EmbeddingTable } from '../../src/embedding/table.js';
import { adviseHugePages } from '../../src/embedding/huge-pages.js';

/** The kernel's transparent-huge-page mode ('always', 'madvise', 'never'), or null off Linux. */
function thpMode(): string | null {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

test('adviseHugePages: a hint that never changes values; refused for small arrays and with FINERANK_HUGE_PAGES=0', () => {
  const a = new Float32Array(3 << 20); // 12 MiB
  for (let i = 0; i < a.length; i += 4099) a[i] = i;
  const before = a.slice();
  const accepted = adviseHugePages(a);
  assert.deepEqual(a, before, 'values untouched');
  assert.equal(adviseHugePages(new Float32Array(1000)), false, 'under 4 MiB: nothing asked');
  const prev = process.env.FINERANK_HUGE_PAGES;
  process.env.FINERANK_HUGE_PAGES = '0';
  try {
    assert.equal(adviseHugePages(new Float32Array(3 << 20)), false, 'switched off');
  } finally {
    if (prev === undefined) delete process.env.FINERANK_HUGE_PAGES;
    else process.env.FINERANK_HUGE_PAGES = prev;
  }
  // With the native addon on Linux where THP can be asked for, the request is accepted.
  const mode = thpMode();
  if (kernels().name !== 'typescript' && (mode === 'madvise' || mode === 'always')) assert.equal(accepted, true);
  if (kernels().name === 'typescript') assert.equal(accepted, false, 'no addon: nothing asked');
});

test('an embedding table initialises to the same values whether or not it asked for huge pages', () => {
  const prev = process.env.FINERANK_HUGE_PAGES;
  const make = (flag: string) => {
    process.env.FINERANK_HUGE_PAGES = flag;
    return new EmbeddingTable('t', 300_001, 8, { rng: new Rng(9), std: 0.01 }).weight; // 9.6 MB
  };
  try {
    const on = make('1');
    const off = make('0');
    assert.deepEqual(on, off);
    assert.deepEqual(on.subarray(0, 8), new Float32Array(8), 'padding row zero');
  } finally {
    if (prev === undefined) delete process.env.FINERANK_HUGE_PAGES;
    else process.env.FINERANK_HUGE_PAGES = prev;
  }
});
