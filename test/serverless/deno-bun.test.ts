// The same on-demand delta handler under Deno (Deno.serve) and Bun (Bun.serve), from the bundles
// of tools/build-serverless.mjs, with the folder cache: the real `ostree pull
// --require-static-deltas` through each gets the generated c1→c2 delta, ends fsck-clean with c2's
// tree, the cache folder holds the delta, and both runtimes produce the superblock xylem's
// generator writes locally (byte for byte). A runtime that cannot start is reported loudly, and
// fails the suite when CI=true.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeInterop } from '../helpers/interop.ts';
import { BUN, DENO, buildServerless, makeOrigin, ostree, ostreePullThrough, serveDir, startEntry, stats, toolWorks, type StaticServer } from './helpers.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { generateDelta } from '../../src/delta/generate.ts';
import { deltaRelPath } from '../../src/delta/paths.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeInterop('serverless delta service under Deno and Bun', () => {
  let dir: string;
  let dist: string;
  let origin: { repo: string; c1: string; c2: string };
  let server: StaticServer;
  let localSuperblock: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-serverless-rt-'));
    origin = makeOrigin(dir);
    server = await serveDir(origin.repo);
    dist = buildServerless();
    const copy = join(dir, 'origin-copy');
    cpSync(origin.repo, copy, { recursive: true });
    mkdirSync(join(dir, 'local-delta'));
    await generateDelta(await Repo.open(createNodeHost(), copy), { from: origin.c1, to: origin.c2, filename: join(dir, 'local-delta', 'superblock') });
    localSuperblock = sha(readFileSync(join(dir, 'local-delta', 'superblock')));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runtimes: Array<{ name: string; bin: string; args: (entry: string, cache: string) => string[]; entry: string }> = [
    { name: 'Deno', bin: DENO, entry: 'deno.mjs', args: (e, c) => ['run', '--allow-net=127.0.0.1', '--allow-env', `--allow-read=${c}`, `--allow-write=${c}`, e] },
    { name: 'Bun', bin: BUN, entry: 'bun.mjs', args: (e) => [e] },
  ];
  for (const rt of runtimes) {
    it(`${rt.name}: ostree pulls a generated delta through it; the folder cache holds it`, async () => {
      if (!toolWorks(rt.bin)) {
        const msg = `!!! ${rt.name} (${rt.bin}) cannot run here: the serverless handler is untested under ${rt.name} !!!`;
        if (process.env.CI === 'true') expect.fail(msg);
        console.warn(msg);
        return;
      }
      const cache = join(dir, `cache-${rt.name}`);
      mkdirSync(cache);
      const svc = await startEntry(rt.bin, rt.args(join(dist, rt.entry), cache), { XYLEM_ORIGIN: server.url, XYLEM_CACHE_DIR: cache, XYLEM_DEPTH: '1' });
      try {
        const client = await ostreePullThrough(dir, origin.repo, origin.c1, svc.url, `client-${rt.name}`);
        expect(ostree([`--repo=${client}`, 'rev-parse', 'svc:main']).trim()).toBe(origin.c2);
        expect(ostree([`--repo=${client}`, 'fsck'])).toContain('no errors found');
        expect(ostree([`--repo=${client}`, 'ls', '-R', '-C', origin.c2])).toBe(ostree([`--repo=${origin.repo}`, 'ls', '-R', '-C', origin.c2]));
        expect((await stats(svc.url)).generated).toBe(1);
        const cached = join(cache, deltaRelPath(origin.c1, origin.c2, 'superblock'));
        expect(existsSync(cached)).toBe(true);
        expect(sha(readFileSync(cached))).toBe(localSuperblock);
        expect(existsSync(join(cache, deltaRelPath(origin.c1, origin.c2, '0')))).toBe(true);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- ${rt.name} output:\n${svc.output()}`);
      } finally {
        await svc.stop();
      }
    });
  }

  it('Bun: a restarted service answers from the folder cache without generating', async () => {
    if (!toolWorks(BUN)) {
      if (process.env.CI === 'true') expect.fail(`Bun (${BUN}) cannot run here`);
      return;
    }
    const cache = join(dir, 'cache-Bun');
    if (!existsSync(join(cache, deltaRelPath(origin.c1, origin.c2, 'superblock')))) expect.fail('the previous Bun case left no cached delta');
    const svc = await startEntry(BUN, [join(dist, 'bun.mjs')], { XYLEM_ORIGIN: server.url, XYLEM_CACHE_DIR: cache });
    try {
      const r = await fetch(svc.url + deltaRelPath(origin.c1, origin.c2, 'superblock'));
      expect(r.status).toBe(200);
      expect(r.headers.get('x-xylem-delta')).toBe('cache');
      expect(sha(new Uint8Array(await r.arrayBuffer()))).toBe(localSuperblock);
      expect((await stats(svc.url)).generated).toBe(0);
    } finally {
      await svc.stop();
    }
  });
});
