import { parseArgs } from 'node:util';
import { loadArtifact, type LoadedArtifact } from '../../serve/artifact.js';
import { exportOnnx, ONNX_OPSET } from '../../export/onnx/index.js';

/** One export format: what it writes and how (the other formats join this table). */
interface ExportFormat {
  summary: string;
  /** Writes the export of a loaded artifact to `out`; returns what to report (printed, or as JSON with --json). */
  write(art: LoadedArtifact, out: string): Record<string, unknown>;
}

/** The export formats by `--format` name. */
const FORMATS: Record<string, ExportFormat> = {
  onnx: {
    summary: `the model graph as an ONNX file (opset ${ONNX_OPSET}; docs/export.md), inputs = encoded fields, outputs = probabilities per task`,
    write: (art, out) => ({ format: 'onnx', file: out, ...exportOnnx(art, out) }),
  },
};

const HELP = `usage: finerank export MODEL_FILE --format FORMAT -o OUT [--json]

Exports a trained model artifact for serving outside finerank. Formats:
${Object.entries(FORMATS)
  .map(([name, f]) => `  ${name.padEnd(6)} ${f.summary}`)
  .join('\n')}

--json prints what was written (inputs, outputs, bytes) as one JSON line.`;

/** `finerank export`: writes a model artifact in another format (dispatch over FORMATS). */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      out: { type: 'string', short: 'o' },
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
  const report = format.write(loadArtifact(positionals[0]!), values.out);
  if (values.json) console.log(JSON.stringify(report));
  else console.log(`${values.format} export written to ${values.out}\n${JSON.stringify(report, null, 2)}`);
  return 0;
}
