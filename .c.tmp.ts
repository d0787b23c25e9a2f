import { run } from './src/cli/commands/gen.js';
process.exitCode = await run(process.argv.slice(2));
