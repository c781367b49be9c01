// Choosing the bootloader backend like libostree: the repo's sysroot.bootloader (none, auto,
// grub2, syslinux, uboot); "auto" (the default) probes boot/syslinux/syslinux.cfg, then
// boot/grub2/grub.cfg (or an EFI grub.cfg), then boot/uEnv.txt. null = BLS entries only.

import type { Sysroot } from '../sysroot.ts';
import { XylemError } from '../../util/errors.ts';
import type { Bootloader } from './types.ts';
import { syslinuxBootloader } from './syslinux.ts';
import { ubootBootloader } from './uboot.ts';
import { grub2Bootloader } from './grub2.ts';

export type { Bootloader, BootloaderWriteContext } from './types.ts';

function grub2For(sysroot: Sysroot): Bootloader {
  const prefix = sysroot.host.env?.OSTREE_BOOT_PARTITION ?? '/boot';
  return grub2Bootloader(prefix);
}

async function probe(sysroot: Sysroot): Promise<Bootloader | null> {
  const fs = sysroot.fs;
  const syslinux = await fs.lstat(sysroot.abs('boot/syslinux/syslinux.cfg'));
  if (syslinux?.kind === 'symlink') return syslinuxBootloader;
  if (await fs.lstat(sysroot.abs('boot/grub2/grub.cfg'))) return grub2For(sysroot);
  const uenv = await fs.lstat(sysroot.abs('boot/uEnv.txt'));
  if (uenv?.kind === 'symlink') return ubootBootloader;
  return null;
}

/** The backend for this sysroot (null: write BLS entries only). */
export async function detectBootloader(sysroot: Sysroot): Promise<Bootloader | null> {
  const repo = await sysroot.repo();
  const configured = repo.config.get('sysroot', 'bootloader') ?? 'auto';
  switch (configured) {
    case 'auto':
      return probe(sysroot);
    case 'none':
      return null;
    case 'grub2':
      return grub2For(sysroot);
    case 'syslinux':
      return syslinuxBootloader;
    case 'uboot':
      return ubootBootloader;
    default:
      throw new XylemError(`Invalid sysroot.bootloader '${configured}' in repository configuration`);
  }
}
