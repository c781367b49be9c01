// U-Boot: boot/uEnv.txt → loader/uEnv.txt. One kernel_imageN/ramdisk_imageN/bootargsN (+ fdt)
// group per entry (no suffix for the default, then 2, 3 …), followed by the default
// deployment's own usr/lib/ostree-boot/uEnv.txt when it ships one.

import { joinPath } from '../../util/path.ts';
import { readSmallText, writeTextAtomic } from '../fsutil.ts';
import type { Bootloader, BootloaderWriteContext } from './types.ts';

export const ubootBootloader: Bootloader = {
  name: 'uboot',
  atomic: true,
  async writeConfig(ctx: BootloaderWriteContext): Promise<void> {
    const fs = ctx.sysroot.fs;
    let out = '';
    ctx.entries.forEach((e, i) => {
      const sfx = i === 0 ? '' : String(i + 1);
      const linux = e.get('linux');
      if (linux) out += `kernel_image${sfx}=${linux}\n`;
      const initrd = e.get('initrd');
      if (initrd) out += `ramdisk_image${sfx}=${initrd}\n`;
      const dt = e.get('devicetree');
      const fdtdir = e.get('fdtdir');
      if (dt) out += `fdt_file${sfx}=${dt}\n`;
      else if (fdtdir) out += `fdtdir${sfx}=${fdtdir}\n`;
      const options = e.get('options');
      if (options) out += `bootargs${sfx}=${options}\n`;
    });
    if (ctx.entries.length > 0) {
      const extra = await readSmallText(fs, joinPath(ctx.deploymentPath(0), 'usr/lib/ostree-boot/uEnv.txt')).catch(() => null);
      if (extra) out += extra.endsWith('\n') ? extra : `${extra}\n`;
    }
    await writeTextAtomic(fs, joinPath(ctx.sysroot.abs(`boot/loader.${ctx.bootversion}`), 'uEnv.txt'), out);
  },
};
