// The devino cache (src/repo/devino-cache.ts): a checkout of a bare-user repo records every
// hardlinked file, and a commit of the checked-out tree into another repo reuses the recorded
// checksums for unchanged files, hashes the rest, and gives exactly the tree the real
// `ostree commit` gives for the same folder (files added, rewritten in place, chmod-ed, replaced).

import { chmodSync, linkSync, mkdirSync, openSync, closeSync, writeSync, rmSync, symlinkSync, writeFileSync, copyFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TempDir, describeInterop, run } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { checkout } from '../../src/repo/checkout.ts';
import { importDirectory, makeImportContext, writeCommit } from '../../src/repo/commit.ts';
import { MutableTree } from '../../src/repo/mutable-tree.ts';
import { Transaction } from '../../src/repo/transaction.ts';
import { DevinoCache } from '../../src/repo/devino-cache.ts';

const C1 = 'a'.repeat(64);
const C2 = 'b'.repeat(64);
const XA = [{ name: 'security.capability', value: new Uint8Array([1, 0, 0, 2]) }];

describe('DevinoCache', () => {
  it('finds what was recorded, per device, and nothing else', () => {
    const c = new DevinoCache();
    c.add(5, 100, C1, { uid: 0, gid: 0, mode: 0o100644, xattrs: [] }, 12, 0);
    c.add(6, 100, C2, { uid: 1, gid: 2, mode: 0o100755, xattrs: XA }, 34, 1000);
    expect(c.entries).toBe(2);
    expect(c.lookup(5, 100)).toEqual({ checksum: C1, header: { uid: 0, gid: 0, mode: 0o100644, xattrs: [] }, size: 12, mtimeMs: 0 });
    expect(c.lookup(6, 100)).toEqual({ checksum: C2, header: { uid: 1, gid: 2, mode: 0o100755, xattrs: XA }, size: 34, mtimeMs: 1000 });
    expect(c.lookup(7, 100)).toBeNull();
    expect(c.lookup(5, 101)).toBeNull();
    // a later record of an inode replaces the earlier one
    c.add(5, 100, C2, { uid: 0, gid: 0, mode: 0o100600, xattrs: XA }, 1, 2);
    expect(c.entries).toBe(2);
    expect(c.lookup(5, 100)?.checksum).toBe(C2);
    expect(c.lookup(5, 100)?.header.mode).toBe(0o100600);
  });

  it('grows past its first capacity and interns xattr lists', () => {
    const c = new DevinoCache();
    for (let i = 1; i <= 5000; i++) c.add(1, i, i % 2 ? C1 : C2, { uid: 0, gid: 0, mode: 0o100644, xattrs: i % 3 ? [] : XA.map((x) => ({ ...x })) }, i, 0);
    expect(c.entries).toBe(5000);
    for (const i of [1, 1024, 1025, 4999, 5000]) {
      const e = c.lookup(1, i)!;
      expect(e.checksum).toBe(i % 2 ? C1 : C2);
      expect(e.size).toBe(i);
      expect(e.header.xattrs).toEqual(i % 3 ? [] : XA);
    }
  });

  it('never keys inode numbers JavaScript cannot hold exactly, and refuses bad records', () => {
    const c = new DevinoCache();
    c.add(1, 2 ** 60, C1, { uid: 0, gid: 0, mode: 0o100644, xattrs: [] }, 1, 0);
    expect(c.entries).toBe(0);
    expect(c.lookup(1, 2 ** 60)).toBeNull();
    expect(() => c.add(1, 3, 'xyz', { uid: 0, gid: 0, mode: 0o100644, xattrs: [] }, 1, 0)).toThrow(/invalid checksum/);
    expect(() => c.add(1, 3, C1, { uid: -1, gid: 0, mode: 0o100644, xattrs: [] }, 1, 0)).toThrow(/invalid header/);
  });
});

describeInterop('devino cache: checkout → commit, against ostree commit', () => {
  vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
  let tmp: TempDir;
  let cacheRepo: string;
  beforeAll(() => {
    tmp = new TempDir('xylem-devino-');
    const src = tmp.join('src');
    mkdirSync(join(src, 'usr/bin'), { recursive: true });
    mkdirSync(join(src, 'usr/share/doc'), { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(join(src, 'usr/share/doc', `f${i}`), `file ${i}\n`.repeat(i + 1));
    writeFileSync(join(src, 'usr/bin/tool'), '#!/bin/sh\necho tool\n');
    chmodSync(join(src, 'usr/bin/tool'), 0o755);
    writeFileSync(join(src, 'usr/bin/big'), new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff));
    writeFileSync(join(src, 'usr/share/empty'), '');
    writeFileSync(join(src, 'usr/share/private'), 'secret\n');
    chmodSync(join(src, 'usr/share/private'), 0o600);
    symlinkSync('tool', join(src, 'usr/bin/link'));
    cacheRepo = tmp.join('cache');
    run('ostree', [`--repo=${cacheRepo}`, 'init', '--mode=bare-user']);
    run('ostree', [`--repo=${cacheRepo}`, 'commit', '-b', 'pkg', '--owner-uid=0', '--owner-gid=0', '--timestamp=2022-02-22T22:22:22Z', src]);
  });
  afterAll(() => tmp?.cleanup());

  /** Commits `dir` into `repo` with the engine (devino cache `cache`); the root tree listing and hits. */
  async function engineCommit(repoPath: string, dir: string, cache: DevinoCache | undefined, skipXattrs = true): Promise<{ listing: string; hits: number }> {
    const repo = await Repo.open(createNodeHost(), repoPath);
    const txn = new Transaction(repo);
    const ctx = makeImportContext(txn, { skipXattrs, ...(cache ? { devinoCache: cache } : {}) });
    const tree = new MutableTree();
    await importDirectory(ctx, dir, tree);
    const { checksum } = await writeCommit(txn, tree, { branch: 'out', parent: null, timestamp: 1n, bindRef: false });
    txn.setRef(null, 'out', checksum);
    await txn.commit();
    return { listing: run('ostree', [`--repo=${repoPath}`, 'ls', '-RCX', 'out']), hits: ctx.devinoHits };
  }

  // --no-xattrs: ostree would commit the bare-user objects' user.ostreemeta as content, which
  // xylem leaves out (with xattrs, the engine is compared with itself without the cache below).
  function oracleCommit(dir: string): string {
    const r = tmp.join(`oracle-${Math.random().toString(36).slice(2)}`);
    run('ostree', [`--repo=${r}`, 'init', '--mode=archive']);
    run('ostree', [`--repo=${r}`, 'commit', '-b', 'out', '--no-xattrs', '--timestamp=2022-02-22T22:22:22Z', dir]);
    return run('ostree', [`--repo=${r}`, 'ls', '-RCX', 'out']);
  }

  it('records the hardlinked files; an unchanged tree commits as ostree commits it, hashing nothing when the objects are there', async () => {
    const cache = await Repo.open(createNodeHost(), cacheRepo);
    const co = tmp.join('co1');
    const devino = new DevinoCache();
    await checkout(cache, 'pkg', co, { userMode: true, devino });
    // 40 docs + tool + big + private (0600 is readable by its owner): all hardlinked; the empty file and the symlink are not
    expect(devino.entries).toBe(43);
    const ino = lstatSync(join(co, 'usr/bin/tool'));
    expect(devino.lookup(ino.dev, ino.ino)?.header.mode).toBe(0o100755);
    const target = tmp.join('target1');
    run('ostree', [`--repo=${target}`, 'init', '--mode=archive']);
    // first commit: the objects are not in the target repo, so everything is imported
    const first = await engineCommit(target, co, devino);
    expect(first.hits).toBe(0);
    expect(first.listing).toBe(oracleCommit(co));
    // second commit of the same tree: every recorded file is reused
    const second = await engineCommit(target, co, devino);
    expect(second.hits).toBe(43);
    expect(second.listing).toBe(first.listing);
  });

  it('hashes what changed since the checkout: rewritten in place, chmod-ed, replaced, new', async () => {
    const cache = await Repo.open(createNodeHost(), cacheRepo);
    const co = tmp.join('co2');
    const devino = new DevinoCache();
    await checkout(cache, 'pkg', co, { userMode: true, devino });
    const target = tmp.join('target2');
    run('ostree', [`--repo=${target}`, 'init', '--mode=archive']);
    await engineCommit(target, co, devino);
    // rewritten in place through the hardlink: same inode, same size, new content (and mtime)
    const fd = openSync(join(co, 'usr/share/doc/f3'), 'r+');
    writeSync(fd, 'FILE');
    closeSync(fd);
    // mode changed on the shared inode: the header differs from the object's
    chmodSync(join(co, 'usr/share/doc/f4'), 0o640);
    // replaced by a copy with other content (a new inode)
    rmSync(join(co, 'usr/share/doc/f5'));
    writeFileSync(join(co, 'usr/share/doc/f5'), 'other\n');
    // a second name for an unchanged inode, and a new file
    linkSync(join(co, 'usr/share/doc/f6'), join(co, 'usr/share/doc/f6-again'));
    copyFileSync(join(co, 'usr/share/doc/f7'), join(co, 'usr/share/doc/f7-copy'));
    const r = await engineCommit(target, co, devino);
    expect(r.listing).toBe(oracleCommit(co));
    // 43 recorded, f3 and f4 changed, f5 replaced; f6-again is one more name of a recorded inode
    expect(r.hits).toBe(43 - 3 + 1);
    // with xattrs read (user.ostreemeta left out, as always): the same tree as without the cache
    const withX = await engineCommit(target, co, devino, false);
    expect(withX.hits).toBe(43 - 3 + 1);
    const plain = tmp.join('target3');
    run('ostree', [`--repo=${plain}`, 'init', '--mode=archive']);
    expect((await engineCommit(plain, co, undefined, false)).listing).toBe(withX.listing);
  });
});
