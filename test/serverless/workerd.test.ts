// The on-demand delta service bundled for Cloudflare's workerd and run in the real workerd:
// an ostree-made archive repo (c1 → c2) is the origin on 127.0.0.1; the real `ostree pull
// --require-static-deltas` through the worker gets a generated c1→c2 delta and ends fsck-clean
// with c2's exact tree; the superblock equals what xylem's generator writes locally (byte for
// byte); xylem's own client applies a c2→c1 delta asked for directly; and N parallel requests
// for one missing (from-scratch) delta cause exactly one generation.
// If workerd cannot run here the suite is skipped loudly, and fails when CI=true.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeInterop } from '../helpers/interop.ts';
import { buildServerless, makeOrigin, ostree, ostreeAsync, ostreePullThrough, serveDir, startWorkerd, stats, toolWorks, WORKERD, type Running } from './helpers.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { generateDelta } from '../../src/delta/generate.ts';
import { applyDeltaFromSource, parseDeltaIndex, type DeltaFetch } from '../../src/delta/source.ts';
import { deltaIndexRelPath, deltaRelPath } from '../../src/delta/paths.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function httpDeltaFetch(base: string): DeltaFetch {
  return async (rel, max) => {
    const r = await fetch(base + rel);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`${rel}: HTTP ${r.status}`);
    const b = new Uint8Array(await r.arrayBuffer());
    if (b.length > max) throw new Error(`${rel}: over ${max} bytes`);
    return b;
  };
}

const workerdOk = toolWorks(WORKERD);
if (!workerdOk) {
  const msg = `!!! serverless/workerd: workerd (${WORKERD}) cannot run on this machine: the workerd tests are NOT run !!!`;
  if (process.env.CI === 'true') describe('serverless delta service in workerd', () => it('workerd runs', () => expect.fail(msg)));
  else console.warn(`\n${msg}\n`);
}

(workerdOk ? describeInterop : describe.skip)('serverless delta service in workerd', () => {
  let dir: string;
  let origin: { repo: string; c1: string; c2: string };
  let server: Awaited<ReturnType<typeof serveDir>>;
  let worker: Running;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-serverless-'));
    origin = makeOrigin(dir);
    server = await serveDir(origin.repo);
    worker = await startWorkerd(buildServerless(), join(dir, 'workerd'), { XYLEM_ORIGIN: server.url, XYLEM_DEPTH: '2' });
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ostree pull --require-static-deltas gets a generated c1→c2 delta; fsck-clean, same tree', async () => {
    const before = await stats(worker.url);
    const client = await ostreePullThrough(dir, origin.repo, origin.c1, worker.url);
    expect(ostree([`--repo=${client}`, 'rev-parse', 'svc:main']).trim()).toBe(origin.c2);
    expect(ostree([`--repo=${client}`, 'fsck'])).toContain('no errors found');
    expect(ostree([`--repo=${client}`, 'ls', '-R', '-C', origin.c2])).toBe(ostree([`--repo=${origin.repo}`, 'ls', '-R', '-C', origin.c2]));
    const after = await stats(worker.url);
    expect(after.generated - before.generated).toBe(1);
    // ostree asked the service, not the origin, for the index: the origin has none
    expect(server.requests).toContain(`/${deltaIndexRelPath(origin.c2)}`);
    const cfg = await (await fetch(`${worker.url}config`)).text();
    expect(cfg).toMatch(/indexed-deltas=true/);
  });

  it('the index names the delta by its superblock checksum, and the superblock is the one xylem generates locally', async () => {
    const idx = new Uint8Array(await (await fetch(worker.url + deltaIndexRelPath(origin.c2))).arrayBuffer());
    const advertised = parseDeltaIndex(idx);
    const name = `${origin.c1}-${origin.c2}`;
    expect([...advertised.keys()]).toEqual([name]);
    const sbRes = await fetch(worker.url + deltaRelPath(origin.c1, origin.c2, 'superblock'));
    expect(sbRes.status).toBe(200);
    const served = new Uint8Array(await sbRes.arrayBuffer());
    expect(sha(served)).toBe(advertised.get(name));
    // the same delta made by xylem's generator on a local copy of the origin
    const copy = join(dir, 'origin-copy');
    cpSync(origin.repo, copy, { recursive: true });
    const repo = await Repo.open(createNodeHost(), copy);
    mkdirSync(join(dir, 'local-delta'));
    await generateDelta(repo, { from: origin.c1, to: origin.c2, filename: join(dir, 'local-delta', 'superblock') });
    expect(sha(readFileSync(join(dir, 'local-delta', 'superblock')))).toBe(sha(served));
    expect(sha(readFileSync(join(dir, 'local-delta', '0')))).toBe(sha(new Uint8Array(await (await fetch(worker.url + deltaRelPath(origin.c1, origin.c2, '0'))).arrayBuffer())));
  });

  it("xylem's client applies a from→to delta asked for directly (c2→c1, advertised nowhere)", async () => {
    const path = join(dir, 'xylem-client');
    await ostreeAsync([`--repo=${path}`, 'init', '--mode=bare-user-only']);
    await ostreeAsync([`--repo=${path}`, 'pull-local', origin.repo, origin.c2]);
    const repo = await Repo.open(createNodeHost(), path);
    const before = await stats(worker.url);
    await applyDeltaFromSource(repo, httpDeltaFetch(worker.url), { from: origin.c2, to: origin.c1 });
    expect((await stats(worker.url)).generated - before.generated).toBe(1);
    await ostreeAsync([`--repo=${path}`, 'refs', '--create=main', origin.c1]);
    expect(await ostreeAsync([`--repo=${path}`, 'fsck'])).toContain('no errors found');
    expect(await ostreeAsync([`--repo=${path}`, 'ls', '-R', '-C', origin.c1])).toBe(ostree([`--repo=${origin.repo}`, 'ls', '-R', '-C', origin.c1]));
  });

  it('N parallel requests for one missing delta generate it once and all get the same bytes', async () => {
    const before = await stats(worker.url);
    const url = worker.url + deltaRelPath(null, origin.c1, 'superblock'); // from scratch to c1
    const N = 8;
    server.objectDelayMs = 150; // a slow origin: the generation outlasts the requests' arrival
    let results: Array<{ sum: string; how: string | null }>;
    try {
      results = await Promise.all(
        Array.from({ length: N }, async () => {
          const r = await fetch(url);
          expect(r.status).toBe(200);
          return { sum: sha(new Uint8Array(await r.arrayBuffer())), how: r.headers.get('x-xylem-delta') };
        }),
      );
    } finally {
      server.objectDelayMs = 0;
    }
    expect(new Set(results.map((r) => r.sum)).size).toBe(1);
    // every request waited for the one generation (none was late enough to be a cache hit)
    expect(results.map((r) => r.how)).toEqual(Array(N).fill('generated'));
    const after = await stats(worker.url);
    expect(after.generated - before.generated).toBe(1);
    expect(after.failures).toBe(0);
  });

  it('refuses hostile paths and methods', async () => {
    for (const p of ['..%2fconfig', 'objects%2f..%2fconfig', 'refs/heads/%2e%2e%2f%2e%2e%2fconfig', 'objects/%2e%2e/%2e%2e/etc/passwd', 'etc/passwd', 'deltas/xx/notadelta/superblock']) {
      const r = await fetch(worker.url + p);
      await r.arrayBuffer();
      expect(r.status, p).toBe(404);
    }
    const r = await fetch(`${worker.url}config`, { method: 'POST', body: 'x' });
    await r.arrayBuffer();
    expect(r.status).toBe(405);
  });
});
