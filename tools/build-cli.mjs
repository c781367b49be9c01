#!/usr/bin/env node
// Bundles the `xylem` CLI (tools/cli.ts) into dist/xylem.mjs with esbuild.
// One ESM file for node20 that starts fast (no module resolution at run time); heavy optional
// libraries (openpgp, …) must be reached only through dynamic import() so they land in
// dist/chunks/ and are loaded only by the commands that need them. The build fails if one of
// them ends up in the statically imported part of the graph.
// Usage: node tools/build-cli.mjs [--entry FILE] [--outdir DIR] [--name NAME]
//        (defaults: tools/cli.ts, dist, xylem → DIR/NAME.mjs; rpm-xylem: --entry tools/rpm-xylem/main.ts
//        --outdir dist/rpm-xylem --name rpm-xylem — its own folder, as each build prunes its chunks/)
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Packages that must never be in the start-up path of the CLI.
const LAZY_ONLY = ['openpgp'];

const { values: opts } = parseArgs({
  options: {
    entry: { type: 'string', default: join(ROOT, 'tools', 'cli.ts') },
    outdir: { type: 'string', default: join(ROOT, 'dist') },
    name: { type: 'string', default: 'xylem' },
  },
});
const entry = resolve(opts.entry);
const outdir = resolve(opts.outdir);

if (!existsSync(entry)) {
  console.error(`build-cli: entry point ${relative(process.cwd(), entry) || entry} does not exist.`);
  console.error('build-cli: tools/cli.ts (the xylem command line) has not been written yet; nothing to bundle.');
  process.exit(1);
}

// ESM output still meets CommonJS code inside bundled packages (require of node builtins,
// __dirname): give every output file a real `require` and the CommonJS path globals.
const banner = [
  '#!/usr/bin/env node',
  "import { createRequire as __xylemCreateRequire } from 'node:module';",
  "import { fileURLToPath as __xylemFileURLToPath } from 'node:url';",
  "import { dirname as __xylemDirname } from 'node:path';",
  'const require = __xylemCreateRequire(import.meta.url);',
  'const __filename = __xylemFileURLToPath(import.meta.url);',
  'const __dirname = __xylemDirname(__filename);',
].join('\n');

// Build into a private folder, then move the files into place (chunks first, the entry last, each
// by rename), so that a CLI started while we build never sees a missing or half-written bundle.
const buildDir = join(outdir, `.build-${process.pid}`);
rmSync(buildDir, { recursive: true, force: true });

let result;
try {
  result = await esbuild.build({
    entryPoints: { [opts.name]: entry },
    outdir: buildDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    minify: false,
    sourcemap: 'linked',
    sourcesContent: true,
    legalComments: 'none',
    banner: { js: banner },
    // native addons cannot be bundled; they are optional and loaded with a fallback
    external: ['@napi-rs/xattr', '@napi-rs/xattr-*', '*.node'],
    loader: { '.wasm': 'binary' },
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
} catch (err) {
  // esbuild has already printed the errors (logLevel)
  console.error(`build-cli: bundling ${relative(ROOT, entry)} failed (${err.errors?.length ?? '?'} error(s) above)`);
  rmSync(buildDir, { recursive: true, force: true });
  process.exit(1);
}

// Which inputs are reachable from the entry through static imports only?
const outputs = result.metafile.outputs;
const entryOut = Object.keys(outputs).find((o) => outputs[o].entryPoint && o.endsWith(`/${opts.name}.mjs`));
if (!entryOut) {
  console.error(`build-cli: esbuild produced no ${opts.name}.mjs`);
  rmSync(buildDir, { recursive: true, force: true });
  process.exit(1);
}
const staticFiles = new Set();
const queue = [entryOut];
while (queue.length > 0) {
  const o = queue.pop();
  if (staticFiles.has(o)) continue;
  staticFiles.add(o);
  for (const imp of outputs[o].imports) {
    if (imp.kind === 'import-statement' && !imp.external && outputs[imp.path]) queue.push(imp.path);
  }
}
let startBytes = 0;
const eager = [];
for (const o of staticFiles) {
  startBytes += outputs[o].bytes;
  for (const input of Object.keys(outputs[o].inputs)) {
    for (const pkg of LAZY_ONLY) {
      if (input.includes(`node_modules/${pkg}/`)) eager.push(`${pkg} (${input} in ${o})`);
    }
  }
}
if (eager.length > 0) {
  console.error('build-cli: these heavy packages are imported statically; use a dynamic import() instead:');
  for (const e of [...new Set(eager)].slice(0, 10)) console.error(`  ${e}`);
  rmSync(buildDir, { recursive: true, force: true });
  process.exit(1);
}

mkdirSync(join(outdir, 'chunks'), { recursive: true });
const built = Object.keys(outputs).map((o) => relative(buildDir, join(ROOT, o)));
const entryRel = relative(buildDir, join(ROOT, entryOut));
const entryMap = `${entryRel}.map`;
for (const rel of built.filter((r) => r !== entryRel)) renameSync(join(buildDir, rel), join(outdir, rel));
chmodSync(join(buildDir, entryRel), 0o755);
renameSync(join(buildDir, entryRel), join(outdir, entryRel));
rmSync(buildDir, { recursive: true, force: true });
// Drop chunks no build references any more once they are an hour old (a running CLI may still use them).
const keep = new Set([...built, entryMap]);
for (const f of readdirSync(join(outdir, 'chunks'))) {
  const rel = join('chunks', f);
  if (!keep.has(rel) && Date.now() - statSync(join(outdir, rel)).mtimeMs > 3600_000) rmSync(join(outdir, rel), { force: true });
}
const mainFile = join(outdir, entryRel);
const chunks = Object.keys(outputs).filter((o) => o.endsWith('.mjs')).length - 1;
console.log(
  `build-cli: ${relative(ROOT, mainFile)} ${(statSync(mainFile).size / 1024).toFixed(0)} KiB; ` +
    `loaded at start-up ${(startBytes / 1024).toFixed(0)} KiB in ${staticFiles.size} file(s); ${chunks} chunk(s) in total`,
);
