// The pull-side helpers: a delta advertised by a summary or a delta index (both written by the
// real ostree) is found, its superblock checked against the advertised checksum, and applied;
// nothing advertised → false; a tampered superblock → refused.

import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, describeInterop, initRepo, ostreeFsck, run } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { createDeltaHook, localDeltaFetch } from '../../src/delta/source.ts';
import { deltaRelPath } from '../../src/delta/paths.ts';
import { readFileSync } from 'node:fs';

describeInterop('static deltas: pull helpers', () => {
  vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
  let tmp: TempDir;
  let src: string;
  let a: string;
  let b: string;
  let n = 0;
  const host = createNodeHost();

  beforeAll(() => {
    tmp = new TempDir('xylem-delta-pull-');
    const t = tmp.join('tree');
    mkdirSync(t);
    writeFileSync(join(t, 'f'), Buffer.alloc(100_000, 1));
    src = initRepo('ostree', tmp.join('src'), 'archive');
    a = run('ostree', [`--repo=${src}`, 'commit', '-b', 'main', `--tree=dir=${t}`]);
    appendFileSync(join(t, 'f'), 'more');
    writeFileSync(join(t, 'g'), 'new');
    b = run('ostree', [`--repo=${src}`, 'commit', '-b', 'main', `--tree=dir=${t}`]);
    run('ostree', [`--repo=${src}`, 'static-delta', 'generate', `--from=${a}`, `--to=${b}`]);
  });
  afterAll(() => tmp?.cleanup());

  async function target(withA: boolean): Promise<Repo> {
    const r = initRepo('ostree', tmp.join(`dst-${n++}`), 'bare-user');
    if (withA) run('ostree', [`--repo=${r}`, 'pull-local', src, a]);
    return Repo.open(host, r);
  }

  it('finds the delta through the summary, or through the delta index, and applies it', async () => {
    run('ostree', [`--repo=${src}`, 'summary', '-u']);
    const summary = readFileSync(join(src, 'summary'));
    const source = await Repo.open(host, src);
    const hook = createDeltaHook(localDeltaFetch(source));
    const r1 = await target(true);
    expect(await hook({ repo: r1, from: a, to: b, summary })).toBe(true);
    ostreeFsck(r1.path);
    expect(run('ostree', [`--repo=${r1.path}`, 'ls', '-R', '-C', b])).toBe(run('ostree', [`--repo=${src}`, 'ls', '-R', '-C', b]));
    // without a summary: the delta index
    const r2 = await target(true);
    expect(await hook({ repo: r2, from: a, to: b, summary: null })).toBe(true);
    ostreeFsck(r2.path);
    // nothing advertised from scratch
    const r3 = await target(false);
    expect(await hook({ repo: r3, from: null, to: b, summary })).toBe(false);
  });

  it('refuses a superblock that does not match the advertised checksum', async () => {
    run('ostree', [`--repo=${src}`, 'summary', '-u']);
    const summary = readFileSync(join(src, 'summary'));
    const copy = tmp.join(`copy-${n++}`);
    cpSync(src, copy, { recursive: true });
    const sbPath = join(copy, deltaRelPath(a, b, 'superblock'));
    const sb = readFileSync(sbPath);
    sb[sb.length - 1] ^= 1;
    writeFileSync(sbPath, sb);
    const hook = createDeltaHook(localDeltaFetch(await Repo.open(host, copy)));
    const r = await target(true);
    await expect(hook({ repo: r, from: a, to: b, summary })).rejects.toThrow(/Invalid checksum for static delta/);
    expect(await r.hasObject(b, 4)).toBe(false);
  });
});
