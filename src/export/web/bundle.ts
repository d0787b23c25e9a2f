/**
 * `finerank export --format web`: writes a directory holding `finerank-scorer.js` (one
 * self-contained, minified ES module bundled by esbuild from ./entry.ts: the engine on its
 * TypeScript kernels, the model registry, the portable encoder; no native addon and no
 * Node module) and `model.bin` (./model-file.ts: the model's options, input fields,
 * portable feature map and weights).
 *
 * Node-only modules the browser graph would reach are substituted, each named here: the
 * native addon loader (engine/kernels/native.js → ./no-native.js) and `node:buffer`
 * (→ ./buffer-shim.js); any other Node module fails the build (platform "browser"). The
 * TypeScript twins of the training-only kernels (engine/kernels/typescript-training.js: dense
 * backward passes, dropout, batch statistics, Adam; embedding/kernels-ts-training.js: the
 * sparse-gradient accumulator and row optimizers) are replaced by ./training-absent.js, whose
 * entries throw: the scorer never trains.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import type { LoadedArtifact } from '../../serve/artifact.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { portableFeatureMap } from '../featuremap-json.js';
import { packWebModel } from './model-file.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** File name of the scorer module in an export directory. */
export const WEB_MODULE = 'finerank-scorer.js';
/** File name of the weights (and feature map) in an export directory; the module's `load()` fetches it by default. */
export const WEB_WEIGHTS = 'model.bin';

/** The browser substitutes of Node-only modules. */
const substitutes: Plugin = {
  name: 'finerank-browser-substitutes',
  setup(b) {
    b.onResolve({ filter: /^node:buffer$/ }, () => ({ path: join(HERE, 'buffer-shim.js') }));
    const swaps = new Map([
      [resolve(HERE, '..', '..', 'engine', 'kernels', 'native.js'), join(HERE, 'no-native.js')],
      [resolve(HERE, '..', '..', 'engine', 'kernels', 'typescript-training.js'), join(HERE, 'training-absent.js')],
      [resolve(HERE, '..', '..', 'embedding', 'kernels-ts-training.js'), join(HERE, 'training-absent.js')],
    ]);
    b.onResolve({ filter: /\/(native|typescript-training|kernels-ts-training)\.js$/ }, (a) => {
      const to = swaps.get(resolve(a.resolveDir, a.path));
      return to !== undefined ? { path: to } : undefined;
    });
  },
};

/** Bundles the scorer module (minified ESM); returns its text and esbuild's list of inputs. */
export async function bundleScorer(): Promise<{ code: string; metafile: Metafile }> {
  const r = await build({
    entryPoints: [join(HERE, 'entry.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [substitutes],
    // The kernel choice reads these; in the browser the TypeScript backend is the only one
    // (and there are no huge pages to ask for: src/embedding/huge-pages.ts).
    define: {
      'process.env.FINERANK_BACKEND': '"typescript"',
      'process.env.FINERANK_THREADS': '"1"',
      'process.env.FINERANK_HUGE_PAGES': '"0"',
    },
  });
  return { code: r.outputFiles[0]!.text, metafile: r.metafile };
}

/**
 * The model.bin bytes of an artifact (what `--format web` writes): header with the model,
 * options, input spec, tasks, negative-sampling rate and portable feature map, then the weights.
 * Refuses an artifact without a feature map (the web scorer encodes raw values).
 */
export function webModelBytes(art: LoadedArtifact): Uint8Array {
  if (art.meta.featureMap === null || art.featureMap === null)
    throw new Error('this model artifact has no feature map (trained on pre-encoded batches): the web scorer encodes raw values and needs one');
  const state = new Map<string, Float32Array>();
  for (const [k, v] of art.model.stateDict()) state.set(k, v);
  return packWebModel(
    {
      format: 'finerank.web',
      version: 1,
      model: art.meta.model,
      modelOptions: art.meta.modelOptions,
      inputSpec: art.meta.inputSpec,
      tasks: art.meta.tasks!.map((t) => t.name),
      negativeSampleRate: art.meta.negativeSampleRate,
      ...(art.meta.logitOffset !== undefined ? { logitOffset: art.meta.logitOffset } : {}),
      featureMap: portableFeatureMap(art.featureMap),
    },
    state,
  );
}

/** Writes the scorer module and model.bin of an artifact into `outDir` (created; files written atomically). */
export async function exportWeb(
  art: LoadedArtifact,
  outDir: string,
): Promise<{ module: string; weights: string; moduleBytes: number; weightBytes: number }> {
  const bin = webModelBytes(art);
  const { code } = await bundleScorer();
  mkdirSync(outDir, { recursive: true });
  const module = join(outDir, WEB_MODULE);
  const weights = join(outDir, WEB_WEIGHTS);
  writeFileAtomic(module, code);
  writeFileAtomic(weights, bin);
  return { module, weights, moduleBytes: Buffer.byteLength(code), weightBytes: bin.length };
}
