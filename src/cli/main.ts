#!/usr/bin/env node
/**
 * The `finerank` command: dispatches to one module per subcommand (src/cli/commands/*),
 * each exporting `run(args): Promise<number>` (the exit code).
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> }> = {
  demo: { summary: 'generate a dataset, train DeepFM, print test AUC / logloss and the oracle AUC', load: () => import('./commands/demo.js') },
  train: { summary: 'train a model from a config file and/or flags; writes a model artifact', load: () => import('./commands/train.js') },
  eval: { summary: 'evaluate a model artifact on a data file (AUC, logloss, gAUC, calibration)', load: () => import('./commands/eval.js') },
  report: {
    summary: 'group-bias report: AUC, gAUC, logloss, calibration per user/item group, as HTML and JSON',
    load: () => import('./commands/report.js'),
  },
  predict: { summary: 'write scores of a model artifact for every row of a data file', load: () => import('./commands/predict.js') },
  labels: {
    summary: 'build labeled impressions (click, conversion, dwell, completion, return) from an event log',
    load: () => import('./commands/labels.js'),
  },
  sample: {
    summary: 'sample a data file against popularity bias (hot items, negatives) with importance weights',
    load: () => import('./commands/sample.js'),
  },
  export: {
    summary: 'export a model artifact for other runtimes (--format onnx | web | featuremap)',
    load: () => import('./commands/export.js'),
  },
  serve: { summary: 'serve a model artifact over HTTP (score, rank, metrics, hot reload)', load: () => import('./commands/serve.js') },
  gen: { summary: 'write a synthetic dataset with known click probabilities', load: () => import('./commands/gen.js') },
  info: { summary: 'versions, the active kernel backend and the model list', load: () => import('./commands/info.js') },
};

function usage(): string {
  const lines = ['usage: finerank <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', "run 'finerank <command> --help' for a command's options");
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    console.error(`finerank: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error;
    console.error(`finerank: ${e.message ?? String(err)}`);
    if (process.env.FINERANK_DEBUG) console.error(e.stack);
    process.exitCode = 1;
  },
);
