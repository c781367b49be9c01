// The Host's worker pool (runtimes/posix/worker-pool.ts): its deflate is byte-identical to the
// in-thread node:zlib provider, its inflate and SHA-256 agree with node:zlib and node:crypto (the
// oracles), a corrupt object inflated on a worker comes back as a CorruptionError naming it, a
// process that used the pool exits by itself, and an archive commit made with workers has the same
// checksum and the same object files as one made without, which `ostree fsck` accepts.

import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createThreadWorkerPool } from '../../runtimes/posix/worker-pool.ts';
import { nodeDeflateProvider } from '../../runtimes/posix/deflate.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo, commitDirectory, CorruptionError, ObjectType, XylemError } from '../../src/index.ts';
import { pooledDeflateProvider } from '../../src/util/worker-deflate.ts';
import { OSTREE, ROOT, ostreeFsck } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';

/** Compressible random-ish data: runs of random bytes and repeats, so deflate has real work. */
function sample(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const rnd = randomBytes(Math.min(n, 4096) + 1);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 24) % 3 === 0 ? rnd[i % rnd.length]! : (i >> 5) & 0xff;
  }
  return out;
}

const SIZES = [0, 1, 100, 2047, 2048, 4096, 65_537, 1_300_000, 3 << 20];

describe('worker pool: same bytes as the in-thread path', () => {
  const pool = createThreadWorkerPool(4, { size: 2, maxInFlightBytes: 4 << 20, warmupBytes: 0 });
  afterAll(() => pool.close());

  it('deflateRaw at levels 1, 6 and 9 is byte-identical to node:zlib in the main thread', async () => {
    const inputs = SIZES.map((n, i) => sample(n, i + 1));
    for (const level of [1, 6, 9]) {
      // all in flight at once: the in-flight byte cap makes some of them wait
      const outs = await Promise.all(inputs.map((d) => pool.deflateRaw(d, level)));
      for (let i = 0; i < inputs.length; i++) {
        const want = await nodeDeflateProvider.deflateRaw(inputs[i]!, level);
        expect(Buffer.compare(outs[i]!, want), `size ${inputs[i]!.length} level ${level}`).toBe(0);
        expect(Buffer.compare(outs[i]!, deflateRawSync(inputs[i]!, { level }))).toBe(0);
      }
    }
  });

  it('inflateRaw and sha256 agree with node:zlib and node:crypto, and leave the caller its buffer', async () => {
    for (const [i, n] of SIZES.entries()) {
      const data = sample(n, 100 + i);
      const z = deflateRawSync(data, { level: 6 });
      const back = await pool.inflateRaw(z, n);
      expect(Buffer.compare(back, inflateRawSync(z))).toBe(0);
      expect(Buffer.compare(back, data)).toBe(0);
      const digest = await pool.sha256(data);
      expect(Buffer.from(digest).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      expect(data.byteLength).toBe(n); // copied, not transferred away
    }
  });

  it('refuses corrupt input and output past the bound with CorruptionError, and keeps working', async () => {
    const z = deflateRawSync(sample(5000, 7));
    await expect(pool.inflateRaw(z, 4999)).rejects.toThrow(CorruptionError);
    await expect(pool.inflateRaw(z.subarray(0, z.length - 10), 5000)).rejects.toThrow(CorruptionError);
    await expect(pool.inflateRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 10)).rejects.toThrow(/invalid deflate data/);
    await expect(pool.deflateRaw(new Uint8Array(1), 10)).rejects.toThrow(RangeError);
    expect((await pool.inflateRaw(z, 5000)).length).toBe(5000);
  });

  it('the engine sends deflate to the pool only when the pool reproduces its provider', async () => {
    const calls: string[] = [];
    const spy = { ...pool, deflateRaw: (d: Uint8Array, l: number) => (calls.push('pool'), pool.deflateRaw(d, l)) };
    const data = sample(10_000, 3);
    const same = pooledDeflateProvider(spy, nodeDeflateProvider);
    await same.deflateRaw(data, 6);
    const other = pooledDeflateProvider(spy, { ...nodeDeflateProvider, name: 'fflate' });
    await other.deflateRaw(data, 6);
    expect(calls).toEqual(['pool']);
  });

  it('does the first warmupBytes of work in the calling thread, then uses the pool', async () => {
    const calls: number[] = [];
    const spy = { ...pool, warmupBytes: 25_000, deflateRaw: (d: Uint8Array, l: number) => (calls.push(d.length), pool.deflateRaw(d, l)) };
    const provider = pooledDeflateProvider(spy, nodeDeflateProvider);
    const data = sample(10_000, 5);
    const want = deflateRawSync(data, { level: 6 });
    for (let i = 0; i < 5; i++) expect(Buffer.compare(await provider.deflateRaw(data, 6), want)).toBe(0);
    expect(calls).toEqual([10_000, 10_000]);
  });

  it('falls back to the calling thread when the pool cannot run (EWORKER), but not on corrupt data', async () => {
    const dead = { ...pool, deflateRaw: () => Promise.reject(new XylemError('worker pool: worker exited with code 1', 'EWORKER')) };
    const data = sample(10_000, 4);
    const out = await pooledDeflateProvider(dead, nodeDeflateProvider).deflateRaw(data, 6);
    expect(Buffer.compare(out, deflateRawSync(data, { level: 6 }))).toBe(0);
    const bad = new Uint8Array(2000).fill(0xff);
    await expect(pooledDeflateProvider(pool, nodeDeflateProvider).inflateRaw(bad, 10_000)).rejects.toThrow(CorruptionError);
  });
});

describe('worker pool: the posix host', () => {
  it('has one by default on two or more cores, sized by XYLEM_WORKERS, none with 0, refusing junk', () => {
    const saved = process.env.XYLEM_WORKERS;
    try {
      delete process.env.XYLEM_WORKERS;
      const h = createNodeHost();
      if ((h.concurrency ?? 1) >= 2) expect(h.workers?.size).toBe(h.concurrency! - 1);
      else expect(h.workers).toBeUndefined();
      process.env.XYLEM_WORKERS = '0';
      expect(createNodeHost().workers).toBeUndefined();
      process.env.XYLEM_WORKERS = '3';
      expect(createNodeHost().workers?.size).toBe(3);
      process.env.XYLEM_WORKERS = 'lots';
      expect(() => createNodeHost()).toThrow(/XYLEM_WORKERS/);
    } finally {
      if (saved === undefined) delete process.env.XYLEM_WORKERS;
      else process.env.XYLEM_WORKERS = saved;
    }
  });
});

describe('worker pool: idle workers', () => {
  it('stops a worker after idleMs and starts one again for the next job', async () => {
    const pool = createThreadWorkerPool(2, { size: 1, idleMs: 20 });
    try {
      const data = sample(50_000, 9);
      const want = deflateRawSync(data, { level: 6 });
      expect(Buffer.compare(await pool.deflateRaw(data, 6), want)).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(Buffer.compare(await pool.deflateRaw(data, 6), want)).toBe(0);
    } finally {
      await pool.close();
    }
  });
});

describe('worker pool: process exit', () => {
  it('a process that used the pool exits by itself, with its result', () => {
    const script = join(mkdtempSync(join(tmpdir(), 'xylem-wp-')), 'use-pool.mts');
    writeFileSync(
      script,
      `import { createThreadWorkerPool } from ${JSON.stringify(pathToFileURL(join(ROOT, 'runtimes/posix/worker-pool.ts')).href)};
const pool = createThreadWorkerPool(3);
const z = await pool.deflateRaw(new Uint8Array(50000).fill(7), 6);
const back = await pool.inflateRaw(z, 50000);
process.stdout.write('ok ' + z.length + ' ' + back.length + '\\n');
`,
    );
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    rmSync(join(script, '..'), { recursive: true, force: true });
    expect(r.signal, `hung for ${Date.now() - t0} ms: ${r.stderr}`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok \d+ 50000\n$/);
  }, 90_000);
});

describe('worker pool: archive commits', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'xylem-wpc-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function makeTree(dir: string): void {
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    for (const [i, n] of [0, 10, 3000, 70_000, 300_000, 1_500_000].entries()) writeFileSync(join(dir, `f${i}`), sample(n, 50 + i));
    for (let i = 0; i < 60; i++) writeFileSync(join(dir, 'a/b', `small${i}`), sample(500 + i * 97, 200 + i));
    symlinkSync('../f1', join(dir, 'a/link'));
  }

  async function commitWith(workers: boolean, name: string): Promise<{ repo: Repo; checksum: string; path: string }> {
    const host = createNodeHost();
    if (workers) host.workers = createThreadWorkerPool(4, { size: 2, warmupBytes: 0 });
    else delete host.workers;
    const path = join(tmp, name);
    const repo = await Repo.init(host, path, { mode: 'archive' });
    const { checksum } = await commitDirectory(repo, join(tmp, 'tree'), { branch: 'main', subject: 's', timestamp: 1_600_000_000 });
    return { repo, checksum, path };
  }

  function objectFiles(repo: string): Map<string, string> {
    const out = new Map<string, string>();
    const objs = join(repo, 'objects');
    for (const d of readdirSync(objs)) for (const f of readdirSync(join(objs, d))) out.set(`${d}/${f}`, createHash('sha256').update(readFileSync(join(objs, d, f))).digest('hex'));
    return out;
  }

  it('the same commit checksum and the same object files with and without workers', async () => {
    makeTree(join(tmp, 'tree'));
    const a = await commitWith(false, 'plain');
    const b = await commitWith(true, 'pooled');
    await b.repo.host.workers!.close();
    expect(b.repo.deflate.name).toBe('node:zlib+worker_threads');
    expect(b.checksum).toBe(a.checksum);
    expect(objectFiles(b.path)).toEqual(objectFiles(a.path));
  }, 120_000);

  it.skipIf(missing('ostree fsck of a repo committed with workers', { ostree: OSTREE !== null }))('ostree fsck accepts the repo committed with workers', () => {
    expect(ostreeFsck(join(tmp, 'pooled'))).toMatch(/no errors found|Validating/i);
  });

  it('a corrupt object inflated on a worker is a CorruptionError naming the object', async () => {
    const host = createNodeHost();
    const pool = createThreadWorkerPool(2, { size: 1, warmupBytes: 0 });
    const fromWorker: unknown[] = [];
    host.workers = {
      ...pool,
      inflateRaw: (d: Uint8Array, max: number) =>
        pool.inflateRaw(d, max).catch((e: unknown) => {
          fromWorker.push(e);
          throw e;
        }),
    };
    try {
      const repo = await Repo.open(host, join(tmp, 'pooled'));
      const want = createHash('sha256').update(readFileSync(join(tmp, 'tree/f4'))).digest('hex');
      let target: string | null = null;
      for (const [rel] of objectFiles(join(tmp, 'pooled'))) {
        if (!rel.endsWith('.filez')) continue;
        const csum = rel.replace('/', '').replace('.filez', '');
        const obj = await repo.loadFile(csum);
        if (obj.size === 300_000 && createHash('sha256').update(await obj.read()).digest('hex') === want) target = csum;
      }
      expect(target).not.toBeNull();
      const p = repo.objectPath(target!, ObjectType.File);
      const bytes = readFileSync(p);
      bytes[8 + bytes.readUInt32BE(0)] = 0x07; // the first deflate block: final, reserved type 3
      writeFileSync(p, bytes);
      const err = await (await repo.loadFile(target!)).read().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CorruptionError);
      expect((err as Error).message).toContain(target!);
      expect(fromWorker).toHaveLength(1);
      expect(fromWorker[0]).toBeInstanceOf(CorruptionError);
    } finally {
      await pool.close();
    }
  }, 120_000);
});
