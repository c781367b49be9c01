// apply-live's /usr diff (src/layer/live-diff.ts) against the real `ostree diff` of the same two
// commits: the same paths removed, added (a new folder once, its contents implied) and changed
// (file content or mode, folder mode); and the posix mount table reader against findmnt(8).

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { parseMountinfo } from '../../runtimes/posix/mounts.ts';
import { Repo } from '../../src/repo/repo.ts';
import { diffCommitSubdir, formatFileTreeDiff } from '../../src/layer/live-diff.ts';

function put(root: string, rel: string, s: string, mode = 0o644): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), s);
  chmodSync(join(root, rel), mode);
}

describe.skipIf(missing('live diff', { ostree: OSTREE !== null }))('apply-live /usr diff vs ostree diff', () => {
  const tmp = new TempDir('xylem-live-diff-');
  afterAll(() => tmp.cleanup());

  it('lists what ostree diff lists, folders added or removed once', async () => {
    const repo = tmp.join('repo');
    const tree = tmp.join('tree');
    execFileSync(OSTREE!, [`--repo=${repo}`, 'init', '--mode=bare-user-only']);
    put(tree, 'usr/bin/keep', 'keep\n', 0o755);
    put(tree, 'usr/bin/change', 'old\n', 0o755);
    put(tree, 'usr/bin/chmod', 'same\n', 0o755);
    put(tree, 'usr/share/gone/a', 'a\n');
    put(tree, 'usr/share/gone/sub/b', 'b\n');
    put(tree, 'usr/share/doc/removed', 'r\n');
    put(tree, 'usr/lib/modes/x', 'x\n');
    put(tree, 'etc/outside', 'not under /usr\n');
    const commit = () => execFileSync(OSTREE!, [`--repo=${repo}`, 'commit', '-b', 'x', `--tree=dir=${tree}`], { encoding: 'utf8' }).trim();
    const a = commit();
    put(tree, 'usr/bin/change', 'new\n', 0o755);
    chmodSync(join(tree, 'usr/bin/chmod'), 0o700);
    rmSync(join(tree, 'usr/share/gone'), { recursive: true });
    rmSync(join(tree, 'usr/share/doc/removed'));
    put(tree, 'usr/share/newdir/deep/c', 'c\n');
    put(tree, 'usr/bin/added', 'added\n', 0o755);
    chmodSync(join(tree, 'usr/lib/modes'), 0o700);
    put(tree, 'etc/outside', 'changed, not under /usr\n');
    const b = commit();

    const lines = execFileSync(OSTREE!, [`--repo=${repo}`, 'diff', a, b], { encoding: 'utf8' }).trim().split('\n');
    const of = (k: string) => lines.filter((l) => l.startsWith(`${k} `)).map((l) => l.slice(1).trim()).filter((p) => p.startsWith('/usr/'));
    const top = (paths: string[]) => paths.filter((p) => !paths.includes(p.slice(0, p.lastIndexOf('/')))).sort();

    const r = await Repo.open(createNodeHost(), repo);
    const d = await diffCommitSubdir(r, a, b, '/usr');
    expect([...d.removedFiles, ...d.removedDirs].sort()).toEqual(top(of('D')));
    expect([...d.addedFiles, ...d.addedDirs].sort()).toEqual(top(of('A')));
    expect([...d.changedFiles, ...d.changedDirs].sort()).toEqual(of('M').sort());
    expect(d.addedDirs).toEqual(['/usr/share/newdir']);
    expect(d.removedDirs).toEqual(['/usr/share/gone']);
    expect(d.changedDirs).toEqual(['/usr/lib/modes']);
    expect(formatFileTreeDiff(d)).toBe('files(added:1 removed:1 changed:2) dirs(added:1 removed:1 changed:1)');
    // Nothing outside the subdirectory; the same commit twice differs in nothing.
    expect(lines.some((l) => l.includes('/etc/outside'))).toBe(true);
    expect(formatFileTreeDiff(await diffCommitSubdir(r, a, a, '/usr'))).toBe('files(added:0 removed:0 changed:0) dirs(added:0 removed:0 changed:0)');
    await expect(diffCommitSubdir(r, a, b, '/nonexistent')).rejects.toThrow(/has no directory \/nonexistent/);
  });

  it.skipIf(!hasCommand('findmnt'))('reads the mount table as findmnt does', async () => {
    const text = (await import('node:fs')).readFileSync('/proc/self/mountinfo', 'utf8');
    const fm = JSON.parse(execFileSync('findmnt', ['-J', '-l', '-o', 'TARGET,FSTYPE,OPTIONS'], { encoding: 'utf8' })) as { filesystems: Array<{ target: string; fstype: string; options: string }> };
    const last = new Map<string, { fstype: string; options: string }>();
    for (const f of fm.filesystems) last.set(f.target, f);
    expect(last.size).toBeGreaterThan(0);
    for (const [target, f] of last) {
      const got = parseMountinfo(text, target);
      expect(got?.fstype, target).toBe(f.fstype);
      expect(got?.readOnly, target).toBe(f.options.split(',').includes('ro'));
    }
    expect(parseMountinfo(text, '/no/such/mount/point')).toBeNull();
    // Escaped mount points (\\040 is a space).
    expect(parseMountinfo('36 35 98:0 / /a\\040b rw,noatime master:1 - overlay overlay ro,lowerdir=/l\n', '/a b')).toEqual({ fstype: 'overlay', readOnly: false, options: 'ro,lowerdir=/l' });
  });
});
