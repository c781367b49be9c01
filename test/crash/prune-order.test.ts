// A prune that dies half-way must leave a repo the real `ostree fsck` accepts: the crash campaign
// found xylem deleting a dropped commit's dirtrees before the commit itself (fsck: "No such
// metadata object …dirtree"). Here the host's unlink fails after k deletions, for every k, on a
// repo holding v1 → v2 (prune --refs-only --depth=0 drops v1 and what only it reaches).

import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TempDir, describeInterop, ok, ostree } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import type { FsHost } from '../../src/host.ts';
import { Repo } from '../../src/repo/repo.ts';
import { pruneRepo } from '../../src/maintenance/prune.ts';

describeInterop('prune killed after any deletion', () => {
  let tmp: TempDir;
  let base: string;
  beforeAll(() => {
    tmp = new TempDir('xylem-prune-order-');
    const src = tmp.join('src');
    const tree = tmp.join('tree');
    for (let v = 1; v <= 2; v++) {
      for (let i = 0; i < 6; i++) {
        mkdirSync(join(tree, `d${i}`), { recursive: true });
        writeFileSync(join(tree, `d${i}`, 'f'), `v${v} file ${i}\n`);
      }
      if (v === 1) ok(ostree([`--repo=${src}`, 'init', '--mode=archive']));
      ok(ostree([`--repo=${src}`, 'commit', '-b', 'main', `--tree=dir=${tree}`]));
    }
    base = tmp.join('base');
    ok(ostree([`--repo=${base}`, 'init', '--mode=archive']));
    ok(ostree([`--repo=${base}`, 'pull-local', '--depth=1', src, 'main']));
  });
  afterAll(() => tmp?.cleanup());

  it('ostree fsck passes whichever deletion the prune stopped before', async () => {
    const real = createNodeHost({ xattrs: false });
    let k = 0;
    let deletions = 0;
    const fs = new Proxy(real.fs, {
      get(t, prop, recv) {
        const v = Reflect.get(t, prop, recv);
        if (prop !== 'unlink') return typeof v === 'function' ? v.bind(t) : v;
        return async (p: string) => {
          if (p.includes('/objects/') && deletions++ >= k) throw new Error(`injected crash before deleting ${p}`);
          return (v as FsHost['unlink']).call(t, p);
        };
      },
    }) as FsHost;
    const host = { ...real, fs };
    let total = -1;
    for (k = 0; total < 0 || k <= total; k++) {
      const repoPath = tmp.join(`r${k}`);
      cpSync(base, repoPath, { recursive: true });
      deletions = 0;
      const repo = await Repo.open(host, repoPath);
      const done = await pruneRepo(repo, { refsOnly: true, depth: 0 }).then(
        () => true,
        () => false,
      );
      if (done) total = k;
      const r = ostree([`--repo=${repoPath}`, 'fsck']);
      expect(r.status, `prune stopped before deletion ${k + 1}: ${r.stderr}`).toBe(0);
      if (done) break;
    }
    expect(total).toBeGreaterThan(10);
  });
});
