import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { threadCpuSeconds } from '../../src/util/thread-cpu.js';

test('threadCpuSeconds counts the calling thread only: grows with its own work, not with a busy worker thread', async (t) => {
  if (!existsSync('/proc/thread-self/schedstat')) {
    assert.equal(threadCpuSeconds(), null);
    t.skip('no /proc/thread-self/schedstat here');
    return;
  }
  const a = threadCpuSeconds()!;
  let x = 0;
  const until = a + 0.05;
  while (threadCpuSeconds()! < until) for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
  assert.ok(x > 0);
  const b = threadCpuSeconds()!;
  assert.ok(b - a >= 0.05, `own work: ${b - a} s`);
  // A worker burns ≥ 0.3 s of its own CPU while this thread sleeps: this thread's time barely moves.
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads'); const fs = require('node:fs');
     const cpu = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e9;
     const start = cpu(); let y = 0; while (cpu() - start < 0.3) for (let i = 0; i < 1e5; i++) y += Math.sqrt(i);
     parentPort.postMessage(cpu() - start);`,
    { eval: true },
  );
  const before = threadCpuSeconds()!;
  const workerCpu = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const after = threadCpuSeconds()!;
  await worker.terminate();
  assert.ok(workerCpu >= 0.3);
  assert.ok(after - before < 0.15, `the calling thread was charged ${after - before} s for a worker's ${workerCpu} s`);
});
