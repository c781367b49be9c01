#!/usr/bin/env node
// Bundles the on-demand delta service (runtimes/serverless/) with esbuild into dist/serverless/:
//   worker.mjs  the Cloudflare workerd module (imports ./core.wasm, a precompiled Wasm module there)
//   core.wasm   the WASM core, copied from core-wasm/gen/ (workerd cannot compile bytes at run time)
//   deno.mjs    Deno.serve entry      bun.mjs  Bun.serve entry
//   deno-deploy.mjs  the Deno Deploy entry (memory or S3 cache)
//   and the deployment files of runtimes/serverless/deploy/ (workerd.capnp, wrangler.toml,
//   deno.json, Containerfile), which name the files beside them.
// Each file is built into a private folder and moved into place by rename (never half-written).
// Usage: node tools/build-serverless.mjs [--outdir DIR]   (default dist/serverless)
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { outdir: { type: 'string', default: join(ROOT, 'dist', 'serverless') } } });
const outdir = resolve(opts.outdir);
const wasm = join(ROOT, 'core-wasm', 'gen', 'core.wasm');
if (!existsSync(wasm)) {
  console.error('build-serverless: core-wasm/gen/core.wasm is missing; run node tools/build-wasm.mjs first');
  process.exit(1);
}
const buildDir = join(outdir, `.build-${process.pid}`);
rmSync(buildDir, { recursive: true, force: true });
mkdirSync(buildDir, { recursive: true });

const common = {
  bundle: true,
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  outdir: buildDir,
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: ROOT,
  // native xattr addons are never used by the service (no xattrs on its filesystems)
  external: ['@napi-rs/xattr', '@napi-rs/xattr-*', '*.node'],
};
try {
  // workerd: web platform only; node:* would need nodejs_compat, and the service uses none.
  await esbuild.build({
    ...common,
    entryPoints: { worker: join(ROOT, 'runtimes', 'serverless', 'worker.ts') },
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    conditions: ['worker', 'browser', 'import'],
    // xz-decompress (delta *decoding*, a dynamic import the service never reaches) needs Node streams
    external: [...common.external, './core.wasm', 'node:*', 'xz-decompress'],
  });
  // Deno and Bun: their node:fs is used by the folder cache.
  await esbuild.build({
    ...common,
    entryPoints: {
      deno: join(ROOT, 'runtimes', 'serverless', 'deno.ts'),
      'deno-deploy': join(ROOT, 'runtimes', 'serverless', 'deno-deploy.ts'),
      bun: join(ROOT, 'runtimes', 'serverless', 'bun.ts'),
    },
    platform: 'node',
    target: 'es2022',
    loader: { '.wasm': 'binary' },
  });
} catch (err) {
  console.error(`build-serverless: bundling failed (${err.errors?.length ?? '?'} error(s) above)`);
  rmSync(buildDir, { recursive: true, force: true });
  process.exit(1);
}
copyFileSync(wasm, join(buildDir, 'core.wasm'));
const deployDir = join(ROOT, 'runtimes', 'serverless', 'deploy');
const deployFiles = readdirSync(deployDir).filter((f) => statSync(join(deployDir, f)).isFile());
for (const f of deployFiles) copyFileSync(join(deployDir, f), join(buildDir, f));
for (const f of ['core.wasm', 'deno.mjs', 'deno-deploy.mjs', 'bun.mjs', 'worker.mjs', ...deployFiles]) renameSync(join(buildDir, f), join(outdir, f));
rmSync(buildDir, { recursive: true, force: true });
console.log(`build-serverless: ${relative(ROOT, outdir)}/worker.mjs ${(statSync(join(outdir, 'worker.mjs')).size / 1024).toFixed(0)} KiB, deno.mjs, deno-deploy.mjs, bun.mjs, core.wasm, ${deployFiles.join(', ')}`);
