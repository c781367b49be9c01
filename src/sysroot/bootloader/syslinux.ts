// SYSLINUX: boot/syslinux/syslinux.cfg → ../loader/syslinux.cfg. The new loader.N/syslinux.cfg
// gets one LABEL per ostree entry (default first) and keeps the non-ostree entries and lines of
// the current file.

import { joinPath } from '../../util/path.ts';
import { readSmallText, writeTextAtomic } from '../fsutil.ts';
import type { Bootloader, BootloaderWriteContext } from './types.ts';

/** Whether a LABEL block boots an ostree kernel. */
function isOstreeKernel(path: string | undefined): boolean {
  return !!path && (path.startsWith('/ostree/') || path.startsWith('/boot/ostree/'));
}

export const syslinuxBootloader: Bootloader = {
  name: 'syslinux',
  atomic: true,
  async writeConfig(ctx: BootloaderWriteContext): Promise<void> {
    const fs = ctx.sysroot.fs;
    const old = (await readSmallText(fs, ctx.sysroot.abs('boot/syslinux/syslinux.cfg')).catch(() => null)) ?? '';
    // Split the old file into loose lines and LABEL blocks; keep what is not ours.
    const kept: string[] = [];
    let block: string[] | null = null;
    let blockKernel: string | undefined;
    let oldDefault: string | null = null;
    const labels = new Map<string, boolean>();
    let blockLabel = '';
    const flush = () => {
      if (block) {
        const ours = isOstreeKernel(blockKernel);
        labels.set(blockLabel, ours);
        if (!ours) kept.push(...block);
      }
      block = null;
      blockKernel = undefined;
    };
    for (const line of old.split('\n')) {
      const t = line.trim();
      if (t.startsWith('LABEL ')) {
        flush();
        block = [line];
        blockLabel = t.slice(6);
        continue;
      }
      if (block && /^\s/.test(line)) {
        if (t.startsWith('KERNEL ')) blockKernel = t.slice(7).trim();
        if (t !== '') block.push(line);
        continue;
      }
      flush();
      if (t.startsWith('DEFAULT ')) {
        oldDefault = t.slice(8);
        continue;
      }
      if (t !== '') kept.push(line);
    }
    flush();
    let out = '';
    const keepDefault = oldDefault !== null && labels.get(oldDefault) === false;
    const first = ctx.entries[0];
    if (keepDefault) out += `DEFAULT ${oldDefault}\n`;
    else if (first) out += `DEFAULT ${first.get('title') ?? '(Untitled)'}\n`;
    for (const e of ctx.entries) {
      out += `LABEL ${e.get('title') ?? '(Untitled)'}\n`;
      const linux = e.get('linux');
      if (linux) out += `\tKERNEL /boot${linux}\n`;
      const initrd = e.get('initrd');
      if (initrd) out += `\tINITRD /boot${initrd}\n`;
      const dt = e.get('devicetree');
      if (dt) out += `\tFDT /boot${dt}\n`;
      const fdtdir = e.get('fdtdir');
      if (!dt && fdtdir) out += `\tFDTDIR /boot${fdtdir}\n`;
      const options = e.get('options');
      if (options) out += `\tAPPEND ${options}\n`;
    }
    for (const l of kept) out += `${l}\n`;
    await writeTextAtomic(fs, joinPath(ctx.sysroot.abs(`boot/loader.${ctx.bootversion}`), 'syslinux.cfg'), out);
  },
};
