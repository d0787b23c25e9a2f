/**
 * Transparent huge pages for large embedding tables. A lookup into a table of hundreds of
 * megabytes touches a random 4 KiB page per row, and nearly every one misses the TLB (a
 * few thousand entries cover ~8 MiB); with 2 MiB pages the same table needs a few hundred
 * entries. Linux gives huge pages to a region only after madvise(MADV_HUGEPAGE) when
 * /sys/kernel/mm/transparent_hugepage/enabled is `madvise` (the common default), so tables
 * ask for them before their pages are first written (`EmbeddingTable`'s initialisation).
 *
 * A hint only: values never change, the call does nothing without the native addon, off
 * Linux, for arrays smaller than 2 MiB, or with FINERANK_HUGE_PAGES=0 in the environment
 * (to measure the difference). Only arrays that are written in full right away should ask:
 * a huge page is mapped whole on first touch, so a sparsely touched array (optimizer state
 * that fills as rows are first updated) would grow its resident memory faster.
 */
import { loadNativeAddon } from '../engine/kernels/native.js';
import { kernels } from '../engine/kernels/index.js';

type Advise = (a: Float32Array) => boolean;
let advise: Advise | null | undefined;

/** Arrays below this many bytes are left alone (one huge page at most would be covered). */
const MIN_BYTES = 4 << 20;

/**
 * Asks the kernel to back `a` with transparent huge pages (see the file comment); returns
 * whether the request was made and accepted. Call it before the array's pages are first written.
 */
export function adviseHugePages(a: Float32Array): boolean {
  if (a.byteLength < MIN_BYTES || process.env.FINERANK_HUGE_PAGES === '0') return false;
  if (advise === undefined) {
    advise = null;
    if (kernels().name !== 'typescript') {
      const loaded = loadNativeAddon();
      if (!('error' in loaded)) {
        const fn = (loaded.addon as unknown as { embAdviseHugePages?: Advise }).embAdviseHugePages;
        if (typeof fn === 'function') advise = fn;
      }
    }
  }
  return advise !== null && advise(a);
}
