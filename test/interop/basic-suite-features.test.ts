// The commit/checkout/inspection features the upstream basic-test.sh exercises, xylem against the
// real ostree: rev-parse -S, commit --statoverride/--skip-list/--mode-ro-executables, modified
// --tree=ref=, --base, --bootable, --consume (adoption), --link-checkout-speedup/-I, cat through
// symlinks, ls/cat error texts, show's byteswapped metadata values, checkout --subpath FILE,
// --skip-list, -M, the archive uncompressed-objects-cache, and bare-user-only mode checks.

import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, initRepo, ostreeFsck, run, tool, type Mode, type Tool } from '../helpers/interop.ts';

const TS = '--timestamp=2022-02-22T22:22:22Z';
const TOOLS: Tool[] = ['ostree', 'xylem'];

describeInterop('interop: basic-test.sh features', () => {
  vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });
  let tmp: TempDir;
  let files: string;

  beforeAll(() => {
    buildCli();
    tmp = new TempDir();
    files = tmp.join('files');
    mkdirSync(join(files, 'baz/deeper'), { recursive: true });
    mkdirSync(join(files, 'usr/bin'), { recursive: true });
    writeFileSync(join(files, 'firstfile'), 'first\n');
    writeFileSync(join(files, 'baz/cow'), 'moo\n');
    writeFileSync(join(files, 'baz/cowro'), 'mooro\n');
    chmodSync(join(files, 'baz/cowro'), 0o600);
    writeFileSync(join(files, 'baz/deeper/ohyeahx'), 'hix\n');
    chmodSync(join(files, 'baz/deeper/ohyeahx'), 0o775);
    writeFileSync(join(files, 'usr/bin/tool'), 'tool\n');
    chmodSync(join(files, 'usr/bin/tool'), 0o777);
    symlinkSync('baz/cow', join(files, 'cow-link'));
    symlinkSync('cow-link', join(files, 'cow-link-link'));
    symlinkSync('/baz/cow', join(files, 'abs-link'));
    symlinkSync('baz', join(files, 'dir-link'));
    symlinkSync('nowhere', join(files, 'dangling'));
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  /** A fresh repo of `mode` for each tool. */
  function pair(name: string, mode: Mode): Record<Tool, string> {
    return { ostree: initRepo('ostree', tmp.join(`o-${name}`), mode), xylem: initRepo('xylem', tmp.join(`x-${name}`), mode) };
  }

  /** Runs the same command in both repos; both must succeed with the same output. */
  function same(repos: Record<Tool, string>, args: string[]): string {
    const out = TOOLS.map((t) => run(t, [`--repo=${repos[t]}`, ...args]));
    expect(out[1], args.join(' ')).toBe(out[0]);
    return out[0]!;
  }

  /** Runs the same command in both repos; both must fail with the same last stderr line. */
  function sameError(repos: Record<Tool, string>, args: string[]): string {
    const errs = TOOLS.map((t) => {
      const r = tool(t, [`--repo=${repos[t]}`, ...args]);
      expect(r.status, `${t} ${args.join(' ')}`).not.toBe(0);
      return r.stderr.trim().split('\n').pop()!;
    });
    expect(errs[1], args.join(' ')).toBe(errs[0]);
    return errs[0]!;
  }

  it('rev-parse -S: none, one, many, and arguments', () => {
    const r = pair('revparse', 'archive');
    expect(sameError(r, ['rev-parse', '-S'])).toBe('error: No commit objects found');
    same(r, ['commit', TS, '-b', 'a', files]);
    same(r, ['rev-parse', '-S']);
    expect(sameError(r, ['rev-parse', '-S', 'a'])).toBe('error: Cannot specify arguments with --single');
    same(r, ['commit', TS, '-b', 'a', '-s', 'two', files]);
    expect(sameError(r, ['rev-parse', '-S'])).toBe('error: Multiple commit objects found');
    expect(sameError(r, ['rev-parse'])).toBe('error: REV must be specified');
  });

  for (const mode of ['archive', 'bare-user', 'bare-user-only'] as Mode[]) {
    describe(mode, () => {
      let r: Record<Tool, string>;
      beforeAll(() => {
        r = pair(`opts-${mode}`, mode);
        same(r, ['commit', TS, '-b', 'base', files]);
      });

      it('--statoverride (+N, N, =N), --skip-list, --mode-ro-executables: same commits', () => {
        const so = tmp.join(`so-${mode}`);
        writeFileSync(so, '+1048 /baz/cow\n2048 /firstfile\n=384 /baz/deeper/ohyeahx\n');
        const skip = tmp.join(`skip-${mode}`);
        writeFileSync(skip, '/baz/cowro\n/usr\n');
        same(r, ['commit', TS, '-b', 'so', `--statoverride=${so}`, files]);
        same(r, ['commit', TS, '-b', 'skip', `--skip-list=${skip}`, files]);
        same(r, ['commit', TS, '-b', 'rox', '--mode-ro-executables', files]);
        same(r, ['ls', '-R', 'rox']);
        ostreeFsck(r.xylem);
      });

      it('unmatched statoverride paths and empty metadata keys are refused alike', () => {
        const so = tmp.join(`so-bad-${mode}`);
        writeFileSync(so, '1 /nope\n');
        expect(sameError(r, ['commit', TS, '-b', 'x', `--statoverride=${so}`, files])).toBe('error: Unmatched statoverride paths');
        expect(sameError(r, ['commit', TS, '-b', 'x', '--add-metadata-string==v', files])).toBe('error: Empty metadata key');
      });

      it('--tree=ref= with a modifier rewrites owners; --base keeps the base as it is', () => {
        same(r, ['commit', TS, '-b', 'owned', '--tree=ref=base', '--owner-uid=4242', '--owner-gid=4243']);
        same(r, ['commit', TS, '-b', 'rox2', '--tree=ref=base', '--mode-ro-executables']);
        const overlay = tmp.join(`overlay-${mode}`);
        mkdirSync(overlay, { recursive: true });
        writeFileSync(join(overlay, 'overlaid'), 'over\n');
        same(r, ['commit', TS, '-b', 'based', '--base', 'base', '--owner-uid', '42', '--owner-gid', '42', overlay]);
        same(r, ['ls', '-R', 'based']);
      });

      it('--bootable: the kernel version, and the errors without one', () => {
        const boot = tmp.join(`boot-${mode}`);
        mkdirSync(join(boot, 'usr/lib/modules/5.6.7'), { recursive: true });
        expect(sameError(r, ['commit', TS, '-b', 'nb', '--bootable', files])).toBe('error: No such file or directory: /usr/lib');
        expect(sameError(r, ['commit', TS, '-b', 'nb', '--bootable', boot])).toBe('error: No kernel found in /usr/lib/modules');
        writeFileSync(join(boot, 'usr/lib/modules/5.6.7/vmlinuz'), 'kernel\n');
        same(r, ['commit', TS, '-b', 'boot', '--bootable', boot]);
      });

      it('cat follows symlinks inside the commit; cat and ls errors match', () => {
        for (const p of ['/cow-link', '/cow-link-link', '/abs-link']) expect(same(r, ['cat', 'base', p])).toBe('moo');
        for (const p of ['/', '/baz', '/dir-link', '/dir-link/cow', '/dangling', '/nonexist', '/baz/cow/x']) sameError(r, ['cat', 'base', p]);
        for (const p of ['/baz/cow/x', '/baz/nonexist/y', 'baz/nonexist']) sameError(r, ['ls', 'base', p]);
      });

      it('show --print-metadata-key byteswaps unless -B', () => {
        same(r, ['commit', TS, '-b', 'meta', '--add-metadata=NUM=uint64 42', '--add-metadata=T=(1, "a")', '--add-metadata-string=S=str', files]);
        for (const k of ['NUM', 'T', 'S', 'ostree.ref-binding']) {
          same(r, ['show', '--print-metadata-key', k, 'meta']);
          same(r, ['show', '-B', '--print-metadata-key', k, 'meta']);
        }
        expect(same(r, ['show', '--print-metadata-key=NUM', 'meta'])).toBe('uint64 3026418949592973312');
      });

      it('checkout --subpath FILE, --skip-list, -M give the same trees', () => {
        const userMode = mode === 'archive' ? [] : ['-U'];
        const trees = TOOLS.map((t) => {
          const dest = tmp.join(`co-${mode}-${t}`);
          const skip = tmp.join(`co-skip-${mode}`);
          writeFileSync(skip, '/cow\n/deeper\n');
          mkdirSync(dest);
          run(t, [`--repo=${r[t]}`, 'checkout', ...userMode, '--subpath', '/baz/cow', 'base', join(dest, 'file')]);
          run(t, [`--repo=${r[t]}`, 'checkout', ...userMode, '--skip-list', skip, '--subpath', '/baz', 'base', join(dest, 'skipped')]);
          run(t, [`--repo=${r[t]}`, 'checkout', ...userMode, '-M', 'base', join(dest, 'm')]);
          return listing(dest);
        });
        expect(trees[1]).toEqual(trees[0]);
      });
    });
  }

  it('archive: user checkouts fill uncompressed-objects-cache unless --disable-cache', () => {
    const seen = TOOLS.map((t) => {
      const repo = initRepo(t, tmp.join(`cache-${t}`), 'archive');
      run(t, [`--repo=${repo}`, 'commit', TS, '-b', 'c', files]);
      run(t, [`--repo=${repo}`, 'checkout', '-U', '--disable-cache', 'c', tmp.join(`cache-co1-${t}`)]);
      const before = existsSync(join(repo, 'uncompressed-objects-cache'));
      run(t, [`--repo=${repo}`, 'checkout', '-U', 'c', tmp.join(`cache-co2-${t}`)]);
      const cached = readdirSync(join(repo, 'uncompressed-objects-cache')).length > 0;
      const cow = statSync(tmp.join(`cache-co2-${t}`, 'baz/cow'));
      return { before, cached, cowLinks: cow.nlink, cowMode: (cow.mode & 0o7777).toString(8) };
    });
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0]!.cached).toBe(true);
  });

  it('bare-user: unreadable files are copied readable by -U -H checkouts', () => {
    const r = pair('unreadable', 'bare-user');
    const src = tmp.join('unreadable-src');
    mkdirSync(src);
    writeFileSync(join(src, 'secret'), 'data\n');
    const so = tmp.join('unreadable-so');
    writeFileSync(so, '=128 /secret\n');
    same(r, ['commit', TS, '-b', 'u', `--statoverride=${so}`, src]);
    const got = TOOLS.map((t) => {
      const dest = tmp.join(`unreadable-co-${t}`);
      run(t, [`--repo=${r[t]}`, 'checkout', '-U', '-H', 'u', dest]);
      const st = statSync(join(dest, 'secret'));
      return [(st.mode & 0o7777).toString(8), st.nlink];
    });
    expect(got[1]).toEqual(got[0]);
  });

  it('bare-user-only: --consume adopts files into the store and removes the tree', () => {
    const r = pair('consume', 'bare-user-only');
    const csums = TOOLS.map((t) => {
      const src = tmp.join(`consume-${t}`);
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'sub/eatme'), 'a file to consume\n');
      const saved = tmp.join(`consume-saved-${t}`);
      mkdirSync(saved);
      linkSync(join(src, 'sub/eatme'), join(saved, 'eatme'));
      const csum = run(t, [`--repo=${r[t]}`, 'commit', TS, '-b', 'eaten', '--consume', `--tree=dir=${src}`]);
      expect(existsSync(src), t).toBe(false);
      const file = run(t, [`--repo=${r[t]}`, 'ls', '-C', 'eaten', '/sub/eatme']).split(/\s+/)[4]!;
      const obj = join(r[t], 'objects', file.slice(0, 2), `${file.slice(2)}.file`);
      expect(lstatSync(obj).ino, `${t}: adopted`).toBe(lstatSync(join(saved, 'eatme')).ino);
      return csum;
    });
    expect(csums[1]).toBe(csums[0]);
    ostreeFsck(r.xylem);
  });

  it('bare-user: --link-checkout-speedup keeps object owners; -I counts cache hits', () => {
    const r = pair('devino', 'bare-user');
    same(r, ['commit', TS, '-b', 'comp', '--owner-uid=0', '--owner-gid=81', files]);
    for (const t of TOOLS) {
      const co = tmp.join(`devino-co-${t}`);
      run(t, [`--repo=${r[t]}`, 'checkout', '-U', '-H', 'comp', co]);
      writeFileSync(join(co, 'new-file'), 'new\n');
    }
    const speed = TOOLS.map((t) => run(t, [`--repo=${r[t]}`, 'commit', TS, '-b', 'speed', '--link-checkout-speedup', tmp.join(`devino-co-${t}`)]));
    expect(speed[1]).toBe(speed[0]);
    const tables = TOOLS.map((t) =>
      run(t, [`--repo=${r[t]}`, 'commit', TS, '-b', 'dev', '-I', '--owner-uid=7', '--table-output', tmp.join(`devino-co-${t}`)]),
    );
    const hits = tables.map((s) => /Content Cache Hits: (\d+)/.exec(s)?.[1]);
    expect(hits[1]).toBe(hits[0]);
    expect(Number(hits[0])).toBeGreaterThan(0);
    expect(tables[1]!.split('\n')[0]).toBe(tables[0]!.split('\n')[0]);
  });

  it('bare-user-only refuses setuid content from a pull', () => {
    const src = initRepo('ostree', tmp.join('suid-src'), 'archive');
    const so = tmp.join('suid-so');
    writeFileSync(so, '2048 /firstfile\n');
    run('ostree', [`--repo=${src}`, 'commit', TS, '-b', 'suid', `--statoverride=${so}`, files]);
    const r = pair('suid', 'bare-user-only');
    // The tree holds two refused files (the setuid one and a world-writable one); which one a tool
    // meets first depends on its traversal order, so each tool must refuse one of them.
    for (const t of TOOLS) {
      const res = tool(t, [`--repo=${r[t]}`, 'pull-local', src, 'suid']);
      expect(res.status, t).not.toBe(0);
      expect(res.stderr.trim().split('\n').pop(), t).toMatch(
        /^error: Writing content object: Content object [0-9a-f]{64}: invalid mode 0(104644 with bits 04000|100777 with bits 00002)$/,
      );
      expect(existsSync(join(r[t], 'refs/heads/suid')), t).toBe(false);
    }
  });
});

/** Relative path, type, mode and content of everything under `root`, sorted. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const r = `${rel}/${name}`;
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`d ${mode} ${r}`);
        walk(p, r);
      } else out.push(`${st.isSymbolicLink() ? 'l' : 'f'} ${mode} ${r}`);
    }
  };
  walk(root, '');
  return out;
}
