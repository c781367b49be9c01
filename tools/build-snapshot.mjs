#!/usr/bin/env node
// Builds a V8 start-up snapshot of the `xylem` CLI for the Node that runs this script (Node 20 has
// no module compile cache; a snapshot is the way to start without compiling and linking modules):
// tools/snapshot-entry.ts is bundled into one CommonJS file (dist/snapshot/xylem.cjs) and run by
// `node --build-snapshot`, which writes dist/snapshot/xylem.blob. A blob only works with the very
// Node binary that made it (another one exits with status 14), so dist/snapshot/node is that
// binary: a hard link (a copy across file systems), which an upgrade of Node replaces without
// touching. tools/bin/xylem uses the snapshot while it is not older than the ESM bundle.
// Every file appears by rename. In the bundle import.meta.url is the URL of dist/snapshot/xylem.cjs
// (resolve files relative to the package, not to a source module). Run by another runtime than
// Node, it removes any old snapshot and makes none (the launcher then uses the ESM bundle).
// Usage: node tools/build-snapshot.mjs [--outdir DIR] (default dist/snapshot)
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, fsyncSync, linkSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

/** The V8 flags tools/bin/xylem starts node with (keep the two in step). */
const NODE_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=1024', '--no-concurrent-recompilation'];
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { outdir: { type: 'string', default: join(ROOT, 'dist', 'snapshot') } } });
const outdir = resolve(opts.outdir);
if (process.versions.bun || process.versions.deno) {
  for (const f of ['xylem.blob', 'node', 'xylem.cjs']) rmSync(join(outdir, f), { force: true });
  console.log('build-snapshot: not running under Node; no start-up snapshot made');
  process.exit(0);
}
mkdirSync(outdir, { recursive: true });
const tag = `.build-${process.pid}`;
const bundle = join(outdir, `xylem.cjs${tag}`);
const blob = join(outdir, `xylem.blob${tag}`);
const link = join(outdir, `node${tag}`);
const cleanup = () => [bundle, blob, link].forEach((f) => rmSync(f, { force: true }));
const fail = (msg) => {
  console.error(`build-snapshot: ${msg}`);
  cleanup();
  process.exit(1);
};

function fsyncFile(f) {
  const fd = openSync(f, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

try {
  await esbuild.build({
    entryPoints: [join(ROOT, 'tools', 'snapshot-entry.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: false,
    legalComments: 'none',
    // set before any module runs: tools/cli.ts must not start the CLI while the snapshot is built
    banner: { js: 'globalThis.__xylemSnapshot = true;\nvar __xylemImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__xylemImportMetaUrl' },
    // a script started from a snapshot has no dynamic import(): lazy node:* imports become require()
    supported: { 'dynamic-import': false },
    external: ['@napi-rs/xattr', '@napi-rs/xattr-*', '*.node'],
    loader: { '.wasm': 'binary' },
    logLevel: 'error',
    absWorkingDir: ROOT,
  });
} catch (e) {
  fail(`bundling tools/snapshot-entry.ts failed (${e.errors?.length ?? '?'} error(s) above)`);
}
// __filename (hence import.meta.url, used to find the optional xattr addon) is the final name
const finalBundle = join(outdir, 'xylem.cjs');
renameSync(bundle, finalBundle);
// V8 refuses a blob built under other heap flags: these must match tools/bin/xylem's exactly.
const r = spawnSync(process.execPath, [...NODE_FLAGS, '--snapshot-blob', blob, '--build-snapshot', finalBundle], { cwd: ROOT, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
// Node warns that node:module is "not yet fully verified" in snapshots; the bundle only calls its
// createRequire at run time (runtimes/posix/builtin.ts, the xattr addon). Other output is shown.
const known = /Warning: It's not yet fully verified whether built-in module "node:module"|^It may still work in some cases|^To request support for the module|^\(Use `node --trace-warnings/;
const stderr = (r.stderr ?? '').split('\n').filter((l) => l && !known.test(l.replace(/^\(node:\d+\) /, '')));
if (stderr.length > 0) console.error(stderr.join('\n'));
if (r.error || r.status !== 0) fail(`node --build-snapshot failed: ${r.error ? r.error.message : `exit ${r.status}`}`);
fsyncFile(blob);
try {
  linkSync(realpathSync(process.execPath), link);
} catch {
  copyFileSync(realpathSync(process.execPath), link);
  chmodSync(link, 0o755);
  fsyncFile(link);
}
renameSync(blob, join(outdir, 'xylem.blob'));
renameSync(link, join(outdir, 'node'));
console.log(`build-snapshot: ${relative(ROOT, join(outdir, 'xylem.blob'))} ${(statSync(join(outdir, 'xylem.blob')).size / 1048576).toFixed(1)} MiB for node ${process.version}`);
