// The /etc overlay archive of `initramfs-etc` (src/layer/initramfs-etc.ts) read back by GNU cpio:
// `cpio -itv` of the gunzipped overlay lists exactly the tracked files with their leading
// directories, each with its own type, mode, owner and mtime, symlinks as links; `cpio -id`
// restores the same bytes. Hostile paths (outside /etc, '..', non-canonical, through a symlink,
// devices/fifos) are refused naming the path.

import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { buildEtcOverlay, etcCpio, gatherEtcEntries } from '../../src/layer/initramfs-etc.ts';
import { TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';

const host = createNodeHost();

describe.skipIf(missing('initramfs-etc overlay vs GNU cpio', { cpio: hasCommand('cpio'), root: process.getuid?.() === 0 }))('initramfs-etc overlay', () => {
  const tmp = new TempDir('xylem-initramfs-etc-');
  afterAll(() => tmp.cleanup());
  const etc = tmp.join('etc');
  mkdirSync(join(etc, 'a/b/c'), { recursive: true });
  writeFileSync(join(etc, 'crypttab'), 'luks UUID=1 none\n');
  chmodSync(join(etc, 'crypttab'), 0o600);
  writeFileSync(join(etc, 'a/b/c/deep.conf'), 'deep\n');
  chownSync(join(etc, 'a/b/c/deep.conf'), 1000, 1001);
  chmodSync(join(etc, 'a/b/c/deep.conf'), 0o640);
  utimesSync(join(etc, 'a/b/c/deep.conf'), 1_600_000_000, 1_600_000_000);
  symlinkSync('deep.conf', join(etc, 'a/b/c/link'));
  symlinkSync('/usr', join(etc, 'out'));
  mkdirSync(join(etc, 'd'));
  writeFileSync(join(etc, 'd/one'), '1\n');
  execFileSync('mkfifo', [join(etc, 'd2-fifo')]);

  it('lists exactly the tracked files and their leading directories, with modes, owners and mtimes', async () => {
    const gz = await buildEtcOverlay(host.fs, etc, ['/etc/a/b/c/deep.conf', '/etc/crypttab', '/etc/d', '/etc/a/b/c/link']);
    const raw = tmp.join('o.cpio');
    writeFileSync(raw, gunzipSync(gz));
    const names = execFileSync('sh', ['-c', 'cpio -it --quiet < "$1"', 'sh', raw], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toEqual(['etc/a', 'etc/a/b', 'etc/a/b/c', 'etc/a/b/c/deep.conf', 'etc/a/b/c/link', 'etc/crypttab', 'etc/d', 'etc/d/one']);
    const v = execFileSync('sh', ['-c', 'TZ=UTC cpio -itv --numeric-uid-gid --quiet < "$1"', 'sh', raw], { encoding: 'utf8' }).trim().split('\n');
    expect(v.find((l) => l.endsWith(' etc/a/b/c/deep.conf'))).toMatch(/^-rw-r----- +1 1000 +1001 +5 Sep 13 +2020 etc\/a\/b\/c\/deep\.conf$/);
    expect(v.find((l) => l.endsWith(' etc/crypttab'))).toMatch(/^-rw------- +1 0 +0 +17 /);
    expect(v.find((l) => l.includes(' etc/a/b/c/link'))).toMatch(/^lrwxrwxrwx .* etc\/a\/b\/c\/link -> deep\.conf$/);
    expect(v.find((l) => l.endsWith(' etc/d'))).toMatch(/^drwxr-xr-x /);
    const out = tmp.join('x');
    mkdirSync(out);
    execFileSync('sh', ['-c', 'cd "$2" && cpio -id --quiet < "$1"', 'sh', raw, out]);
    expect(readFileSync(join(out, 'etc/a/b/c/deep.conf'), 'utf8')).toBe('deep\n');
    expect(readFileSync(join(out, 'etc/crypttab'), 'utf8')).toBe('luks UUID=1 none\n');
  });

  it('is the same bytes for the same /etc (inodes renumbered, no device numbers)', async () => {
    const a = await etcCpio(host.fs, etc, await gatherEtcEntries(host.fs, etc, ['/etc/d']));
    const b = await etcCpio(host.fs, etc, await gatherEtcEntries(host.fs, etc, ['/etc/d']));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    // first header: inode 1
    expect(new TextDecoder().decode(a.subarray(0, 14))).toBe('07070100000001');
  });

  it('refuses paths outside /etc, with .., non-canonical, through a symlink, or of other file types', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/usr/lib/x', /must be under \/etc/],
      ['/etc/../etc/crypttab', /'\.\.'/],
      ['/etc//crypttab', /must be canonical/],
      ['/etc/out/bin', /\/etc\/out is a symbolic link/],
      ['/etc/d2-fifo', /\/etc\/d2-fifo: Invalid non-regfile\/symlink\/directory/],
      ['/etc/missing', /\/etc\/missing: No such file or directory/],
      ['/etc/crypttab/x', /Not a directory/],
    ];
    for (const [p, re] of cases) await expect(gatherEtcEntries(host.fs, etc, [p]), p).rejects.toThrow(re);
  });
});
