#!/usr/bin/env node
// Bundles the static audit page (tools/audit-page/) into dist/audit/: index.html + audit.js, one
// self-contained ES module for browsers (the WASM core is embedded, openpgp is inlined), so the
// folder can be served from any static host. The build fails if anything from Node (`node:*` or
// a bare built-in such as `fs`) reaches the bundle.
// Usage: node tools/build-audit.mjs [--outdir DIR] [--entry FILE]   (defaults: dist/audit, tools/audit-page/main.ts)
import { copyFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PAGE = join(ROOT, 'tools', 'audit-page');
const { values: opts } = parseArgs({
  options: {
    outdir: { type: 'string', default: join(ROOT, 'dist', 'audit') },
    entry: { type: 'string', default: join(PAGE, 'main.ts') },
  },
});
const outdir = resolve(opts.outdir);
const builtins = new Set(builtinModules.filter((m) => !m.startsWith('_')));

/** Refuses every import of a Node built-in, naming who imported it. */
const noNode = {
  name: 'no-node-builtins',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.replace(/^node:/, '').split('/')[0];
      if (args.path.startsWith('node:') || (builtins.has(bare) && !args.path.startsWith('.'))) {
        return { errors: [{ text: `Node built-in "${args.path}" imported by ${relative(ROOT, args.importer) || args.importer}; the audit page must run in browsers` }] };
      }
      return undefined;
    });
  },
};

const buildDir = `${outdir}.build-${process.pid}`;
rmSync(buildDir, { recursive: true, force: true });
mkdirSync(buildDir, { recursive: true });
try {
  const result = await esbuild.build({
    entryPoints: { audit: resolve(opts.entry) },
    outdir: buildDir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    splitting: false,
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    plugins: [noNode],
  });
  for (const input of Object.keys(result.metafile.inputs)) {
    if (/^node:|(^|\/)node_modules\/(@types\/node)\//.test(input)) throw new Error(`build-audit: Node module ${input} in the bundle`);
  }
  copyFileSync(join(PAGE, 'index.html'), join(buildDir, 'index.html'));
  rmSync(outdir, { recursive: true, force: true });
  renameSync(buildDir, outdir);
} catch (e) {
  rmSync(buildDir, { recursive: true, force: true });
  console.error(`build-audit: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
const size = statSync(join(outdir, 'audit.js')).size;
console.log(`build-audit: ${relative(process.cwd(), outdir) || outdir}/ (index.html, audit.js ${(size / 1024).toFixed(0)} KiB)`);
