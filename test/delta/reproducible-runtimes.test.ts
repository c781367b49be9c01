// Static-delta generation is reproducible across runtimes: test/delta/reproducible-gen.mjs makes
// the same two commits and generates the A→B and from-scratch deltas (built-in LZMA2 encoder,
// bsdiff and rollsum in the WASM core) under Node (twice), Bun and Deno; every delta file must be
// byte-identical across the runs. The real ostree then applies the A→B delta, so the identical
// bytes are also a valid delta. A missing runtime fails under CI=true and is skipped loudly
// otherwise.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TempDir, describeInterop, initRepo, run } from '../helpers/interop.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = 'test/delta/reproducible-gen.mjs';

function findBinary(candidates: string[]): string | null {
  for (const c of candidates) {
    const p = join(ROOT, c);
    if (existsSync(p) && spawnSync(p, ['--version']).status === 0) return p;
  }
  return null;
}

const bun = findBinary(['node_modules/.bin/bun', 'node_modules/@oven/bun-linux-x64/bin/bun', 'node_modules/@oven/bun-linux-x64-baseline/bin/bun']);
const deno = findBinary(['node_modules/.bin/deno']);

const RUNTIMES: Array<{ name: string; cmd: string[] | null }> = [
  { name: 'node-1', cmd: [process.execPath, '--import', 'tsx', SCRIPT] },
  { name: 'node-2', cmd: [process.execPath, '--import', 'tsx', SCRIPT] },
  { name: 'bun', cmd: bun ? [bun, 'run', SCRIPT] : null },
  { name: 'deno', cmd: deno ? [deno, 'run', '-A', '--no-check', SCRIPT] : null },
];

/** All delta files of a run: "ab/0", "ab/superblock", "scratch/…" → bytes. */
function deltaFiles(out: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const d of ['ab', 'scratch']) for (const f of readdirSync(join(out, d)).sort()) files.set(`${d}/${f}`, readFileSync(join(out, d, f)));
  return files;
}

describe('static-delta generation: byte-identical under Node, Bun and Deno', () => {
  const tmp = new TempDir('xylem-delta-repro-');
  afterAll(() => tmp.cleanup());
  const runs = new Map<string, { out: string; info: { runtime: string; a: string; b: string } }>();

  for (const rt of RUNTIMES) {
    it(`generates under ${rt.name}`, () => {
      if (!rt.cmd) {
        if (process.env.CI === 'true') throw new Error(`${rt.name} is missing (run npm ci): cannot prove cross-runtime reproducibility`);
        console.warn(`reproducible-runtimes: SKIPPING ${rt.name}: not installed (run npm ci)`);
        return;
      }
      const out = tmp.join(rt.name);
      const r = spawnSync(rt.cmd[0]!, [...rt.cmd.slice(1), out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
      expect(r.status, `${rt.name}: ${r.stdout}\n${r.stderr}`).toBe(0);
      const info = JSON.parse(r.stdout.trim().split('\n').pop()!) as { runtime: string; a: string; b: string };
      expect(info.runtime).toBe(rt.name.replace(/-\d$/, ''));
      runs.set(rt.name, { out, info });
    }, 130_000);
  }

  it('every run wrote the same commits and the same delta bytes', () => {
    const names = [...runs.keys()];
    expect(names).toContain('node-1');
    expect(names).toContain('node-2');
    const ref = runs.get('node-1')!;
    const refFiles = deltaFiles(ref.out);
    expect(refFiles.size).toBeGreaterThanOrEqual(4); // ab: part + superblock; scratch: several parts + superblock
    for (const n of names.slice(1)) {
      const r = runs.get(n)!;
      expect(r.info.a, `${n}: commit A`).toBe(ref.info.a);
      expect(r.info.b, `${n}: commit B`).toBe(ref.info.b);
      const files = deltaFiles(r.out);
      expect([...files.keys()], `${n}: delta files`).toEqual([...refFiles.keys()]);
      for (const [f, data] of refFiles) expect(Buffer.compare(files.get(f)!, data), `${n}: ${f} differs from node-1's`).toBe(0);
    }
  });

  describeInterop('the reproducible delta is valid', () => {
    it('the real ostree applies the A→B delta and fscks the result', () => {
      const ref = runs.get('node-1');
      expect(ref, 'node-1 generated nothing').toBeDefined();
      const dst = initRepo('ostree', tmp.join('apply'), 'bare-user');
      run('ostree', [`--repo=${dst}`, 'pull-local', join(ref!.out, 'repo'), ref!.info.a]);
      run('ostree', [`--repo=${dst}`, 'static-delta', 'apply-offline', join(ref!.out, 'ab', 'superblock')]);
      expect(run('ostree', [`--repo=${dst}`, 'rev-parse', ref!.info.b]).trim()).toBe(ref!.info.b);
      run('ostree', [`--repo=${dst}`, 'fsck']);
    });
  });
});
