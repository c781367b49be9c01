// Space check before writing /boot: the kernels, initramfs and device trees a new boot set adds
// (boot/ostree/OS-BOOTCSUM folders that do not exist yet — files on /boot's own filesystem are
// hardlinked and cost nothing), plus the loader entries, must fit in what /boot has free. The
// old set is only deleted after the swap, so both must fit at once. libostree 2022.7 writes
// until ENOSPC; we refuse first and say how much is needed.

import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import type { FsHost } from '../host.ts';
import { findKernel } from './kernel.ts';
import type { Sysroot } from './sysroot.ts';
import { formatSize } from '../util/format-size.ts';

/** Filesystem block size we round every file up to (the common 4 KiB). */
const BLOCK = 4096;
/** A bound on the files walked in a dtb/ folder. */
const MAX_DTB_FILES = 100_000;

function blocks(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Bytes copying `path` (a file or a dtb folder) onto a filesystem other than `bootDev` takes. */
async function copyCost(fs: FsHost, path: string, bootDev: number, budget: { files: number }): Promise<number> {
  const st = await fs.lstat(path);
  if (!st) return 0;
  if (st.kind === 'file') return st.dev === bootDev ? 0 : blocks(st.size);
  if (st.kind !== 'dir') return BLOCK;
  let total = BLOCK;
  for (const e of await fs.readdir(path)) {
    if (++budget.files > MAX_DTB_FILES) throw new XylemError(`${path}: too many files`);
    total += await copyCost(fs, joinPath(path, e.name), bootDev, budget);
  }
  return total;
}

/** Human-readable size for the /boot space message: formatSize with a plain space before the unit. */
export function formatBytes(bytes: number): string {
  return formatSize(bytes).replace('\u00a0', ' ');
}

export interface BootSpace {
  /** Bytes the new boot set adds to /boot. */
  needed: number;
  /** Bytes free there (null: the host cannot tell). */
  free: number | null;
}

/**
 * What writing a boot set of `deployments` (by deployment folder and boot checksum) would add to
 * the sysroot's boot/, and what is free there.
 */
export async function bootSpaceNeeded(
  sysroot: Sysroot,
  deployments: ReadonlyArray<{ osname: string; bootcsum: string; root: string }>,
): Promise<BootSpace> {
  const fs = sysroot.fs;
  const bootDir = sysroot.abs('boot');
  const bst = await fs.stat(bootDir);
  if (!bst) throw new XylemError(`${bootDir}: No such file or directory`);
  const seen = new Set<string>();
  const budget = { files: 0 };
  // The loader folder, its entries and the bootloader's own file (one block each).
  let needed = BLOCK * (3 + deployments.length);
  for (const d of deployments) {
    const key = `${d.osname}-${d.bootcsum}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (await fs.lstat(joinPath(bootDir, 'ostree', key))) continue;
    const layout = await findKernel(fs, d.root, { noDtb: sysroot.debug.noDtb });
    needed += BLOCK;
    for (const f of [layout.kernel, layout.initramfs, layout.devicetree, layout.hmac, layout.dtbDir]) {
      if (f) needed += await copyCost(fs, joinPath(d.root, f.src), bst.dev, budget);
    }
  }
  const fsInfo = fs.freeSpace ? await fs.freeSpace(bootDir) : null;
  return { needed, free: fsInfo ? fsInfo.freeBytes : null };
}

/** Throws, naming how much is needed, when the boot set would not fit in boot/. */
export async function checkBootSpace(
  sysroot: Sysroot,
  deployments: ReadonlyArray<{ osname: string; bootcsum: string; root: string }>,
): Promise<BootSpace> {
  const s = await bootSpaceNeeded(sysroot, deployments);
  if (s.free !== null && s.needed > s.free)
    throw new XylemError(
      `Not enough space in /boot (${sysroot.abs('boot')}): the new boot set needs ${formatBytes(s.needed)} ` +
        `(${s.needed} bytes), ${formatBytes(s.free)} (${s.free} bytes) is free; free ${formatBytes(s.needed - s.free)} more`,
    );
  return s;
}
