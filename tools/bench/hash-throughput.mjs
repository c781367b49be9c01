#!/usr/bin/env node
// Quick SHA-256 throughput comparison (MB/s, 1 MB = 10^6 bytes): node:crypto, the WASM core's
// scalar kernel, its 4-lane SIMD batch kernel, and @noble/hashes, on many 4 KiB objects and on
// 1 MiB buffers. Plain node: the TS facade is bundled in memory with esbuild before import.
//   node tools/bench/hash-throughput.mjs [--seconds 1]

import { createHash, randomFillSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const secondsArg = process.argv.indexOf('--seconds');
const seconds = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1;

async function importFacade() {
  const out = await build({
    entryPoints: [join(root, 'core-wasm', 'index.ts')],
    bundle: true, write: false, format: 'esm', platform: 'neutral', logLevel: 'error',
  });
  const code = Buffer.from(out.outputFiles[0].contents).toString('base64');
  return import(`data:text/javascript;base64,${code}`);
}

/** Runs `fn` (which hashes `bytes` bytes) repeatedly for ~`seconds`; returns the best MB/s of the rounds. */
function measure(fn, bytes) {
  fn(); // warm-up
  let best = 0;
  const deadline = performance.now() + seconds * 1000;
  do {
    const t0 = performance.now();
    fn();
    const dt = (performance.now() - t0) / 1000;
    best = Math.max(best, bytes / 1e6 / dt);
  } while (performance.now() < deadline);
  return best;
}

const { loadCoreSync } = await importFacade();
const core = loadCoreSync();

const workloads = [
  { label: '4 KiB objects x 2048', items: Array.from({ length: 2048 }, () => randomFillSync(new Uint8Array(4096))) },
  { label: '1 MiB buffers x 8', items: Array.from({ length: 8 }, () => randomFillSync(new Uint8Array(1 << 20))) },
];

// Sanity check before timing anything.
for (const { items } of workloads) {
  const want = items.map((d) => createHash('sha256').update(d).digest('hex'));
  const got = core.sha256Many(items).map((d) => Buffer.from(d).toString('hex'));
  if (got.join() !== want.join()) throw new Error('sha256Many disagrees with node:crypto');
}

const contenders = [
  ['node:crypto', (items) => { for (const d of items) createHash('sha256').update(d).digest(); }],
  ['core-wasm single', (items) => { for (const d of items) core.sha256(d); }],
  ['core-wasm SIMD 4-lane', (items) => { core.sha256Many(items); }],
  ['@noble/hashes', (items) => { for (const d of items) nobleSha256(d); }],
];

console.log(`SHA-256 throughput, MB/s (best of ~${seconds}s per cell), node ${process.version}`);
const header = ['implementation'.padEnd(24), ...workloads.map((w) => w.label.padStart(22))].join('');
console.log(header);
for (const [name, fn] of contenders) {
  const cells = workloads.map(({ items }) => {
    const bytes = items.reduce((n, d) => n + d.length, 0);
    return measure(() => fn(items), bytes).toFixed(0).padStart(22);
  });
  console.log(name.padEnd(24) + cells.join(''));
}
