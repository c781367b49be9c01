#!/usr/bin/env node
// Compiles the `xylem` CLI into one self-contained Bun executable, dist/xylem-bun (`bun build
// --compile`): the Bun runtime plus the whole bundle precompiled to bytecode (--bytecode), so it
// starts without reading, parsing or compiling any JavaScript file. It is the fastest-starting
// form of the CLI (see the startup rows of `npm run bench`); not part of the npm package (~110 MB).
// The file appears by rename, so a CLI started during the build never sees a half-written one.
// Usage: node tools/build-bun-exe.mjs [--out FILE]   (bun: node_modules/.bin/bun, else PATH)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'dist', 'xylem-bun') } } });
const out = resolve(opts.out);
const local = join(ROOT, 'node_modules', '.bin', 'bun');
const bun = existsSync(local) ? local : 'bun';
const tmp = join(dirname(out), `.${out.split('/').pop()}-${process.pid}`);
mkdirSync(dirname(out), { recursive: true });
const args = ['build', '--compile', '--bytecode', '--sourcemap=none', join(ROOT, 'tools', 'cli.ts'), '--outfile', tmp];
const r = spawnSync(bun, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (r.error || r.status !== 0) {
  rmSync(tmp, { force: true });
  console.error(`build-bun-exe: ${bun} ${args.join(' ')} failed: ${r.error ? r.error.message : `exit ${r.status}`}`);
  if (r.error) console.error('build-bun-exe: Bun is needed (npm ci installs the `bun` package)');
  process.exit(1);
}
const fd = openSync(tmp, 'r');
fsyncSync(fd);
closeSync(fd);
renameSync(tmp, out);
console.log(`build-bun-exe: ${relative(ROOT, out)} ${(statSync(out).size / 1048576).toFixed(0)} MiB`);
