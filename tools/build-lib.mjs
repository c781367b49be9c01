#!/usr/bin/env node
// Builds the installable library into dist/lib/ (ES modules) and its type declarations into
// dist/types/ — what package.json's "exports" name: xylem (src/index.ts), xylem/node, xylem/memory,
// xylem/browser, xylem/core-wasm, xylem/serverless, and the runtime-specific hosts xylem/host
// (picks Bun, Deno or Node), xylem/bun and xylem/deno. One esbuild run with code splitting, so the
// entries share their chunks (one Repo class, one WASM core instance); npm dependencies stay
// imports (installed beside the package) and node:* stays as is (Node, Bun and Deno provide it).
// Types: tsc --emitDeclarationOnly with tsconfig.types.json; `.ts` specifiers become `.js`.
// Both outputs are built into private folders and moved into place by rename.
// Usage: node tools/build-lib.mjs [--outdir DIR] [--no-types]   (default dist)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: { outdir: { type: 'string', default: join(ROOT, 'dist') }, 'no-types': { type: 'boolean', default: false } },
});
const outdir = resolve(opts.outdir);

/** Public entry points: output name → source (keep in step with package.json "exports"). */
export const ENTRIES = {
  index: 'src/index.ts',
  node: 'runtimes/node/index.ts',
  memory: 'runtimes/memory/index.ts',
  browser: 'runtimes/browser/index.ts',
  'core-wasm': 'core-wasm/index.ts',
  serverless: 'runtimes/serverless/index.ts',
  host: 'runtimes/index.ts',
  bun: 'runtimes/bun/index.ts',
  deno: 'runtimes/deno/index.ts',
};

for (const src of Object.values(ENTRIES)) {
  if (!existsSync(join(ROOT, src))) {
    console.error(`build-lib: entry ${src} is missing`);
    process.exit(1);
  }
}
if (!existsSync(join(ROOT, 'core-wasm', 'gen', 'wasm-bytes.ts'))) {
  console.error('build-lib: core-wasm/gen/wasm-bytes.ts is missing; run node tools/build-wasm.mjs first');
  process.exit(1);
}

const libDir = join(outdir, 'lib');
const libTmp = join(outdir, `.lib-${process.pid}`);
const typesDir = join(outdir, 'types');
const typesTmp = join(outdir, `.types-${process.pid}`);
const clean = () => {
  rmSync(libTmp, { recursive: true, force: true });
  rmSync(typesTmp, { recursive: true, force: true });
};
clean();
mkdirSync(outdir, { recursive: true });

try {
  await esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [k, join(ROOT, v)])),
    outdir: libTmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    // dependencies are installed with the package; node:* comes from the runtime
    packages: 'external',
    external: ['node:*'],
    minify: false,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
} catch (err) {
  console.error(`build-lib: bundling failed (${err.errors?.length ?? '?'} error(s) above)`);
  clean();
  process.exit(1);
}

if (!opts['no-types']) {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.types.json'), '--outDir', typesTmp], { cwd: ROOT, stdio: 'inherit' });
  } catch {
    console.error('build-lib: tsc could not emit the type declarations (errors above)');
    clean();
    process.exit(1);
  }
  for (const src of Object.values(ENTRIES)) {
    const dts = join(typesTmp, src.replace(/\.ts$/, '.d.ts'));
    if (!existsSync(dts)) {
      console.error(`build-lib: tsc wrote no ${relative(typesTmp, dts)}`);
      clean();
      process.exit(1);
    }
  }
}

rmSync(libDir, { recursive: true, force: true });
renameSync(libTmp, libDir);
if (!opts['no-types']) {
  rmSync(typesDir, { recursive: true, force: true });
  renameSync(typesTmp, typesDir);
}
const size = statSync(join(libDir, 'index.mjs')).size;
console.log(`build-lib: ${relative(process.cwd(), libDir) || libDir}/ (${Object.keys(ENTRIES).join(', ')}; index.mjs ${(size / 1024).toFixed(0)} KiB)${opts['no-types'] ? '' : `, ${relative(process.cwd(), typesDir)}/`}`);
