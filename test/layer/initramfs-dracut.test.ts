// The client-side regeneration (src/layer/initramfs.ts regenerateInitramfs) with a REAL dracut:
// the Debian OS tree the boot test builds and caches (`npm run boot-test` → /var/cache/xylem-boot/
// os-*/tree: kernel, dracut 059 with the ostree module, kmod, bash — or XYLEM_DRACUT_TREE) is
// hardlink-copied, then the tree's own depmod and dracut run in the sandbox with rpm-ostree's
// client arguments (`--no-hostonly -I /etc/crypttab`) and the SYSTEM's /etc in place of the tree's
// defaults. Oracle: `lsinitrd` of the committed image shows those arguments, the system's
// crypttab (not the tree's), and ostree-prepare-root wired into the initrd. Without that tree:
// under CI=true the boot test's builder makes it (tools/boot-test/build-os.sh, cached per machine,
// one builder at a time), elsewhere the test is skipped loudly (the tree is 440 MB).
// Takes about two minutes here.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { clientDracutArgs, regenerateInitramfs } from '../../src/layer/initramfs.ts';
import { ROOT, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';
import { HAVE_BWRAP, IS_ROOT } from '../helpers/script-root.ts';

function findTree(): string | null {
  if (process.env.XYLEM_DRACUT_TREE) return process.env.XYLEM_DRACUT_TREE;
  const cache = '/var/cache/xylem-boot';
  if (!existsSync(cache)) return null;
  for (const d of readdirSync(cache).filter((n) => n.startsWith('os-')).sort()) {
    const tree = join(cache, d, 'tree');
    if (existsSync(join(cache, d, '.complete')) && existsSync(join(tree, 'usr/bin/dracut')) && existsSync(join(tree, 'usr/etc'))) return tree;
  }
  return null;
}

/** Under CI the tree is built when missing (as the boot test would), so the test never skips there. */
function buildTree(): string {
  return execFileSync('bash', [join(ROOT, 'tools/boot-test/build-os.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60_000 }).trim();
}

const TREE = findTree() ?? (process.env.CI ? buildTree() : null);

if (TREE === null) {
  console.warn('\n!!! SKIPPED initramfs with a real dracut: no OS tree (run `npm run boot-test` once, or set XYLEM_DRACUT_TREE) !!!\n');
  describe.skip('initramfs regeneration with a real dracut (no OS tree)', () => it('needs the boot-test OS tree', () => undefined));
} else {
  describe.skipIf(missing('initramfs with a real dracut', { bwrap: HAVE_BWRAP, lsinitrd: hasCommand('lsinitrd'), root: IS_ROOT }))('initramfs regeneration with a real dracut', () => {
    const tmp = new TempDir('xylem-real-dracut-');
    afterAll(() => tmp.cleanup());

    it('runs the tree\'s dracut with the client args and the system /etc; lsinitrd sees them', async () => {
      const root = tmp.join('root');
      const sum = (f: string) => execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0];
      const cachedImgs = readdirSync(join(TREE!, 'usr/lib/modules')).map((k) => join(TREE!, 'usr/lib/modules', k, 'initramfs.img')).filter((f) => existsSync(f));
      const before = cachedImgs.map(sum);
      // hardlinks: dracut, depmod and the image write replace files, they never change them in place
      execFileSync('cp', ['-al', TREE, root]);
      const sysEtc = tmp.join('sysetc');
      execFileSync('cp', ['-a', join(root, 'usr/etc'), sysEtc]);
      writeFileSync(join(sysEtc, 'crypttab'), 'luks-xylem UUID=1234 none\n');
      const host = createNodeHost();
      const kver = await regenerateInitramfs(host, root, { args: clientDracutArgs(null, ['-I', '/etc/crypttab']), etcDir: sysEtc });
      const img = join(root, 'usr/lib/modules', kver, 'initramfs.img');
      const listing = execFileSync('lsinitrd', [img], { encoding: 'utf8', maxBuffer: 256 << 20 });
      expect(listing).toMatch(/Arguments: +--reproducible -v --add 'ostree' --tmpdir '\/tmp\/dracut' -f --no-hostonly -I '\/etc\/crypttab' --kver '[^']+'/);
      expect(listing).toMatch(/usr\/lib\/ostree\/ostree-prepare-root\n/);
      expect(listing).toContain('initrd-root-fs.target.wants/ostree-prepare-root.service');
      expect(execFileSync('lsinitrd', ['-f', 'etc/crypttab', img], { encoding: 'utf8' })).toBe('luks-xylem UUID=1234 none\n');
      // the tree's own defaults are back in place and untouched
      expect(existsSync(join(root, 'usr/etc/crypttab')) ? execFileSync('cat', [join(root, 'usr/etc/crypttab')], { encoding: 'utf8' }) : '').not.toContain('luks-xylem');
      expect(existsSync(join(root, 'etc'))).toBe(false);
      // the cached tree itself was not modified through the hardlinks
      expect(cachedImgs.map(sum)).toEqual(before);
      expect(sum(img)).not.toBe(sum(join(TREE!, 'usr/lib/modules', kver, 'initramfs.img')));
    }, 600_000);
  });
}
