// Commit and checkout options, xylem against ostree on the tricky tree: --canonical-permissions,
// --owner-uid/--owner-gid, --tree=ref=, --tree=tar= (a tarball made by `tar`), --subpath,
// --union, --union-add, and -H -U on bare-user (the checkout is the object file: same inode).

import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, initRepo, ostreeFsck, run, sh, tool, type Mode, type Tool } from '../helpers/interop.ts';
import { buildTrickyTree, manifest, manifestLines } from '../helpers/tricky-tree.ts';

describeInterop('interop: commit and checkout options', () => {
  vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });
  let tmp: TempDir;
  let tree: string;
  let tarball: string;
  const repos: Record<string, { x: string; o: string }> = {};

  beforeAll(() => {
    buildCli();
    tmp = new TempDir();
    tree = buildTrickyTree(tmp.join('tree'));
    tarball = tmp.join('tree.tar');
    // GNU tar with xattrs and numeric owners, as an image build would make it.
    sh('tar', ['--xattrs', '--xattrs-include=user.*', '--numeric-owner', '-C', tree, '-cf', tarball, '.']);
    for (const mode of ['archive', 'bare-user'] as Mode[]) {
      repos[mode] = { x: initRepo('xylem', tmp.join(`x-${mode}`), mode), o: initRepo('ostree', tmp.join(`o-${mode}`), mode) };
    }
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  /** Runs the same commit with both tools; expects the same checksum and a clean ostree fsck. */
  function sameCommit(mode: Mode, args: string[]): string {
    const { x, o } = repos[mode]!;
    const oc = run('ostree', [`--repo=${o}`, 'commit', '--timestamp=2022-02-22T22:22:22Z', ...args]);
    const xc = run('xylem', [`--repo=${x}`, 'commit', '--timestamp=2022-02-22T22:22:22Z', ...args]);
    if (xc !== oc) {
      // Equal checksums mean equal trees; on a mismatch, show where the trees differ.
      expect(run('ostree', [`--repo=${x}`, 'ls', '-R', '-X', xc]), args.join(' ')).toBe(run('ostree', [`--repo=${o}`, 'ls', '-R', '-X', oc]));
    }
    expect(xc, args.join(' ')).toBe(oc);
    return xc;
  }

  for (const mode of ['archive', 'bare-user'] as Mode[]) {
    describe(mode, () => {
      it('--canonical-permissions, --owner-uid/--owner-gid, --no-xattrs give the same commits', () => {
        sameCommit(mode, ['-b', 'canon', '--canonical-permissions', tree]);
        sameCommit(mode, ['-b', 'owner', '--owner-uid=4242', '--owner-gid=2424', tree]);
        sameCommit(mode, ['-b', 'owner0', '--canonical-permissions', '--owner-uid=0', tree]);
        sameCommit(mode, ['-b', 'noxattrs', '--no-xattrs', tree]);
        ostreeFsck(repos[mode]!.x);
      });

      it('--canonical-permissions with a non-zero --owner-uid is refused by both', () => {
        for (const t of ['ostree', 'xylem'] as Tool[]) {
          const r = tool(t, [`--repo=${t === 'ostree' ? repos[mode]!.o : repos[mode]!.x}`, 'commit', '-b', 'bad', '--canonical-permissions', '--owner-uid=5', tree]);
          expect(r.status, t).not.toBe(0);
        }
      });

      it('--tree=tar= (GNU tar with xattrs) gives the same commit', () => {
        sameCommit(mode, ['-b', 'tar', `--tree=tar=${tarball}`]);
      });

      it('--tree=ref= and --tree=dir= layered give the same commit', () => {
        const extra = tmp.join(`extra-${mode}`);
        mkdirSync(`${extra}/files`, { recursive: true });
        writeFileSync(`${extra}/files/plain.txt`, 'overridden\n');
        writeFileSync(`${extra}/new-file`, 'new\n');
        sameCommit(mode, ['-b', 'base', tree]);
        sameCommit(mode, ['-b', 'layered', '--tree=ref=base', `--tree=dir=${extra}`]);
        sameCommit(mode, ['-b', 'layered2', `--tree=dir=${extra}`, '--tree=ref=base']);
      });

      it('checkout --subpath (a directory and a single file) equals ostree', async () => {
        const { x, o } = repos[mode]!;
        if (!existsSync(join(o, 'refs/heads/base'))) sameCommit(mode, ['-b', 'base', tree]);
        const flags = mode === 'bare-user' ? ['-U'] : [];
        for (const sub of ['/dirs', '/unicode/目录']) {
          const tag = `${mode}-${sub.replace(/\W/g, '_')}`;
          run('ostree', [`--repo=${o}`, 'checkout', ...flags, `--subpath=${sub}`, 'base', tmp.join(`sub-o-${tag}`)]);
          run('xylem', [`--repo=${x}`, 'checkout', ...flags, `--subpath=${sub}`, 'base', tmp.join(`sub-x-${tag}`)]);
          const m = async (d: string): Promise<string[]> => manifestLines(await manifest(d, { hardlinks: true }));
          expect(await m(tmp.join(`sub-x-${tag}`)), sub).toEqual(await m(tmp.join(`sub-o-${tag}`)));
        }
      });

      // libostree creates DEST with mode 0700 for a single-file subpath.
      it('checkout --subpath of a single file puts it into DEST (created 0700), as ostree', async () => {
        const { x, o } = repos[mode]!;
        if (!existsSync(join(o, 'refs/heads/base'))) sameCommit(mode, ['-b', 'base', tree]);
        const flags = mode === 'bare-user' ? ['-U'] : [];
        run('ostree', [`--repo=${o}`, 'checkout', ...flags, '--subpath=/files/plain.txt', 'base', tmp.join(`subf-o-${mode}`)]);
        run('xylem', [`--repo=${x}`, 'checkout', ...flags, '--subpath=/files/plain.txt', 'base', tmp.join(`subf-x-${mode}`)]);
        const m = async (d: string): Promise<string[]> => manifestLines(await manifest(d, { hardlinks: true }));
        expect(await m(tmp.join(`subf-x-${mode}`))).toEqual(await m(tmp.join(`subf-o-${mode}`)));
      });

      it('checkout --union and --union-add over an existing tree equal ostree', async () => {
        const { x, o } = repos[mode]!;
        if (!existsSync(join(o, 'refs/heads/base'))) sameCommit(mode, ['-b', 'base', tree]);
        const over = tmp.join(`over-${mode}`);
        mkdirSync(`${over}/files`, { recursive: true });
        writeFileSync(`${over}/files/plain.txt`, 'union replaces me? \n');
        writeFileSync(`${over}/files/only-in-over`, 'over\n');
        sameCommit(mode, ['-b', 'over', over]);
        const flags = mode === 'bare-user' ? ['-U'] : [];
        for (const how of ['--union', '--union-add']) {
          const dirs = { ostree: tmp.join(`u-o-${mode}${how}`), xylem: tmp.join(`u-x-${mode}${how}`) };
          for (const t of ['ostree', 'xylem'] as Tool[]) {
            const repo = t === 'ostree' ? o : x;
            run(t, [`--repo=${repo}`, 'checkout', ...flags, 'base', dirs[t]]);
            run(t, [`--repo=${repo}`, 'checkout', ...flags, how, 'over', dirs[t]]);
          }
          const m = async (d: string): Promise<string[]> => manifestLines(await manifest(d, { hardlinks: true }));
          expect(await m(dirs.xylem), how).toEqual(await m(dirs.ostree));
        }
      });
    });
  }

  it('bare-user: checkout -H -U hardlinks every regular file to its object (same inode), like ostree', async () => {
    const { x, o } = repos['bare-user']!;
    if (!existsSync(join(o, 'refs/heads/base'))) sameCommit('bare-user', ['-b', 'base', tree]);
    const dx = tmp.join('h-x');
    const dO = tmp.join('h-o');
    run('xylem', [`--repo=${x}`, 'checkout', '-H', '-U', 'base', dx]);
    run('ostree', [`--repo=${o}`, 'checkout', '-H', '-U', 'base', dO]);
    const m = async (d: string): Promise<string[]> => manifestLines(await manifest(d, { hardlinks: true }));
    expect(await m(dx)).toEqual(await m(dO));
    const ls = run('xylem', [`--repo=${x}`, 'ls', '-R', '-C', 'base']).split('\n');
    let checked = 0;
    for (const line of ls) {
      if (!line.startsWith('-')) continue;
      const parts = line.split(/\s+/);
      const size = Number(parts[3]);
      const csum = parts[4]!;
      const path = line.slice(line.indexOf(csum) + csum.length + 1);
      const obj = join(x, 'objects', csum.slice(0, 2), `${csum.slice(2)}.file`);
      const co = statSync(join(dx, path));
      if (size === 0) expect(co.ino, `${path} (zero-sized: copied)`).not.toBe(statSync(obj).ino);
      else expect(co.ino, path).toBe(statSync(obj).ino);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
    // -H without -U cannot hardlink from bare-user: both refuse.
    for (const t of ['ostree', 'xylem'] as Tool[]) {
      const r = tool(t, [`--repo=${t === 'ostree' ? o : x}`, 'checkout', '-H', 'base', tmp.join(`h-nou-${t}`)]);
      expect(r.status, t).not.toBe(0);
    }
  });
});
