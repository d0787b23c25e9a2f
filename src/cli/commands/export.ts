import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadArtifact, type LoadedArtifact } from '../../serve/artifact.js';
import { exportOnnx, ONNX_OPSET } from '../../export/onnx/index.js';
import { portableFeatureMap } from '../../export/featuremap-json.js';
import { writeFileAtomic } from '../../util/atomic.js';

/** One export format: what it writes and how (the other formats join this table). */
interface ExportFormat {
  summary: string;
  /** Whether `-o` names a directory (then `--with-featuremap` writes OUT/featuremap.json, else OUT.featuremap.json). */
  outIsDir: boolean;
  /** Writes the export of a loaded artifact to `out`; returns what to report (printed, or as JSON with --json). */
  write(art: LoadedArtifact, out: string): Promise<Record<string, unknown>>;
}

/** The portable feature map of an artifact (docs/export.md), as JSON at `path`; returns the path. */
function writeFeatureMap(art: LoadedArtifact, path: string): string {
  if (art.featureMap === null) throw new Error('this model artifact has no feature map (trained on pre-encoded batches): nothing to export');
  writeFileAtomic(path, `${JSON.stringify(portableFeatureMap(art.featureMap), null, 1)}\n`);
  return path;
}

/** The export formats by `--format` name. */
const FORMATS: Record<string, ExportFormat> = {
  onnx: {
    summary: `the model graph as an ONNX file (opset ${ONNX_OPSET}; docs/export.md), inputs = encoded fields, outputs = probabilities per task`,
    outIsDir: false,
    write: async (art, out) => ({ format: 'onnx', file: out, ...exportOnnx(art, out) }),
  },
  web: {
    summary: 'OUT/finerank-scorer.js (ES module on the TypeScript kernels) + OUT/model.bin: score(rows), rank(context, candidates) in a browser',
    outIsDir: true,
    write: async (art, out) => {
      const { exportWeb } = await import('../../export/web/bundle.js');
      const r = await exportWeb(art, out);
      return { format: 'web', module: r.module, moduleBytes: r.moduleBytes, weights: r.weights, weightBytes: r.weightBytes };
    },
  },
  featuremap: {
    summary: 'the portable feature map alone (JSON: vocabularies, hashing, numeric steps; docs/export.md)',
    outIsDir: false,
    write: async (art, out) => ({ format: 'featuremap', file: writeFeatureMap(art, out) }),
  },
};

const HELP = `usage: finerank export MODEL_FILE --format FORMAT -o OUT [--with-featuremap] [--json]

Exports a trained model artifact for serving outside finerank. Formats:
${Object.entries(FORMATS)
  .map(([name, f]) => `  ${name.padEnd(10)} ${f.summary}`)
  .join('\n')}

--with-featuremap also writes the portable feature map beside the output: OUT.featuremap.json
(OUT/featuremap.json when OUT is a directory).
--json prints what was written (inputs, outputs, bytes) as one JSON line.`;

/** `finerank export`: writes a model artifact in another format (dispatch over FORMATS). */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      out: { type: 'string', short: 'o' },
      'with-featuremap': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1 || values.format === undefined || values.out === undefined) {
    console.error(HELP);
    return 2;
  }
  const format = FORMATS[values.format];
  if (format === undefined) {
    console.error(`finerank export: unknown format '${values.format}'; formats: ${Object.keys(FORMATS).join(', ')}`);
    return 2;
  }
  const art = loadArtifact(positionals[0]!);
  const report = await format.write(art, values.out);
  if (values['with-featuremap'] && values.format !== 'featuremap')
    report.featuremap = writeFeatureMap(art, format.outIsDir ? join(values.out, 'featuremap.json') : `${values.out}.featuremap.json`);
  if (values.json) console.log(JSON.stringify(report));
  else console.log(`${values.format} export written to ${values.out}\n${JSON.stringify(report, null, 2)}`);
  return 0;
}
