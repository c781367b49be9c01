// Reading a machine's ext4 image as a BLS boot loader would (debugfs, nothing mounted): the
// current loader's entries, highest version first (systemd-boot / BLS without sort-key), the
// deployment an entry's ostree= karg resolves to, and the entry's kernel and initramfs.

import { sh } from './host.mjs';

/**
 * A reader of `disk`. `catastrophic`: debugfs -c (read-only, bitmaps not loaded) — after a power
 * cut the image still needs journal recovery and its bitmap checksums do not match, so plain
 * debugfs refuses it; like a boot loader (GRUB does not replay ext4's journal) this reads it as
 * it lies on disk.
 */
export function imageReader(disk, { catastrophic = false } = {}) {
  const debugfs = (req) => sh('debugfs', [...(catastrophic ? ['-c'] : []), '-R', req, disk], { stdio: ['ignore', 'pipe', 'ignore'] });
  // short targets live in the inode ("Fast link dest"), longer ones in a block that `cat` prints
  const linkDest = (p) => /Fast link dest: "([^"]+)"/.exec(debugfs(`stat ${p}`))?.[1] ?? (debugfs(`cat ${p}`).trim() || undefined);

  /** The current loader's entries, highest version first. Throws when there is no /boot/loader. */
  function bootEntries() {
    const loader = /Fast link dest: "([^"]+)"/.exec(debugfs('stat /boot/loader'))?.[1];
    if (!loader) throw new Error('the image has no /boot/loader link');
    const names = debugfs(`ls -p /boot/${loader}/entries`).split('\n').map((l) => l.split('/')[5]).filter((n) => n && n.endsWith('.conf'));
    const entries = names.map((n) => {
      const text = debugfs(`cat /boot/${loader}/entries/${n}`);
      const kv = Object.fromEntries(text.split('\n').filter((l) => l.trim()).map((l) => { const i = l.indexOf(' '); return [l.slice(0, i), l.slice(i + 1).trim()]; }));
      return { name: n, ...kv };
    });
    entries.sort((a, b) => Number(b.version) - Number(a.version));
    return { loader, entries };
  }

  /** The `csum.serial` an entry boots: its ostree= karg's symlinks followed inside the image. Throws if it does not resolve. */
  function entryDeployment(entry) {
    const m = /(?:^| )ostree=\/ostree\/(boot\.[01])\/(\S+)/.exec(entry.options ?? '');
    if (!m) throw new Error(`entry ${entry.name}: no ostree=/ostree/boot.N/... karg`);
    const bootN = linkDest(`/ostree/${m[1]}`);
    const target = bootN && linkDest(`/ostree/${bootN}/${m[2]}`);
    if (!target) throw new Error(`entry ${entry.name}: ostree=/ostree/${m[1]}/${m[2]} does not resolve in the image`);
    return target.split('/').pop();
  }

  /** Copies the entry's kernel and initramfs out of the image. */
  function dumpBootFiles(entry, kernel, initrd) {
    debugfs(`dump /boot${entry.linux} ${kernel}`);
    debugfs(`dump /boot${entry.initrd} ${initrd}`);
  }

  return { bootEntries, entryDeployment, dumpBootFiles };
}
