// The delta service's stores: the in-memory DeltaCache (bounded, oldest out, keys limited to delta
// paths), the folder cache (atomic files, no stray temp files, hostile keys refused) and the
// origin object cache (one load per file however many ask at once, bounded by bytes).

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDeltaCache } from '../../src/delta/on-demand-cache.ts';
import { OriginObjectCache, isSafeRepoPath } from '../../src/delta/on-demand-origin.ts';
import { FsDeltaCache } from '../../runtimes/serverless/fs-cache.ts';
import { createPosixFs } from '../../runtimes/posix/fs.ts';

const K = (n: number) => `deltas/ab/cd${n}/superblock`;
const dir = mkdtempSync(join(tmpdir(), 'xylem-delta-caches-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('delta caches', () => {
  it('memory: keeps at most maxBytes, dropping the least recently used first', async () => {
    const c = new MemoryDeltaCache({ maxBytes: 100 });
    await c.put(K(1), new Uint8Array(40));
    await c.put(K(2), new Uint8Array(40));
    expect(await c.get(K(1))).not.toBeNull(); // K(1) is now the most recent
    await c.put(K(3), new Uint8Array(40));
    expect(await c.get(K(2))).toBeNull();
    expect((await c.get(K(1)))?.length).toBe(40);
    expect((await c.get(K(3)))?.length).toBe(40);
    expect(c.size).toBe(2);
  });

  it('memory and folder caches refuse keys that are not delta paths', async () => {
    const m = new MemoryDeltaCache();
    const f = new FsDeltaCache(createPosixFs(), dir);
    for (const bad of ['../etc/passwd', 'deltas/../../x', 'objects/ab/cd.filez', 'deltas/a b/c', '/deltas/ab/cd', 'deltas//x']) {
      await expect(m.put(bad, new Uint8Array(1)), bad).rejects.toThrow(/Invalid delta cache key/);
      await expect(f.get(bad), bad).rejects.toThrow(/Invalid delta cache key/);
    }
  });

  it('folder: round trip, replace, no temp files left', async () => {
    const f = new FsDeltaCache(createPosixFs(), dir);
    expect(await f.get(K(9))).toBeNull();
    await f.put(K(9), new Uint8Array([1, 2, 3]));
    await f.put(K(9), new Uint8Array([4, 5]));
    expect([...(await f.get(K(9)))!]).toEqual([4, 5]);
    expect([...readFileSync(join(dir, K(9)))]).toEqual([4, 5]);
    expect(readdirSync(join(dir, 'deltas/ab/cd9'))).toEqual(['superblock']);
    expect(existsSync(join(dir, 'deltas/ab/cd9/superblock'))).toBe(true);
  });

  it('origin object cache: concurrent asks share one load; bytes bounded', async () => {
    const c = new OriginObjectCache(100);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return new Uint8Array(60);
    };
    const got = await Promise.all(Array.from({ length: 5 }, () => c.get('objects/aa/1.filez', load)));
    expect(loads).toBe(1);
    expect(new Set(got).size).toBe(1);
    await c.get('objects/aa/2.filez', load); // 120 bytes > 100: the older one goes
    await new Promise((r) => setTimeout(r, 0));
    await c.get('objects/aa/1.filez', load);
    expect(loads).toBe(3);
  });

  it('repository paths: only known top-level names, no dot segments', () => {
    for (const ok of ['config', 'summary', 'summary.sig', 'objects/ab/cdef.filez', 'refs/heads/os/stable', 'deltas/ab/c+d_e-f/0', 'delta-indexes/ab/cd.index']) expect(isSafeRepoPath(ok), ok).toBe(true);
    for (const bad of ['', '/config', 'objects/../config', 'objects/./x', 'objects/', 'tmp/x', 'state/x', 'refs/heads/a b', 'objects\\x', 'config/x']) expect(isSafeRepoPath(bad), bad).toBe(false);
  });
});
