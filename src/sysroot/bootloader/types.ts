// The bootloader backend contract: after the BLS entries of a new boot version are written,
// a backend may write its own configuration into that same boot/loader.N folder, so the
// boot/loader symlink swap publishes both at once.

import type { Sysroot } from '../sysroot.ts';
import type { BootConfig } from '../bootconfig.ts';

export interface BootloaderWriteContext {
  sysroot: Sysroot;
  /** The boot version being written (its folder is boot/loader.N). */
  bootversion: number;
  /** The new entries, default (index 0) first. */
  entries: BootConfig[];
  /** Reads a file of a deployment by index (for per-deployment additions such as uEnv.txt). */
  deploymentPath(index: number): string;
}

export interface Bootloader {
  /** As in sysroot.bootloader: none, grub2, syslinux, uboot. */
  readonly name: string;
  /**
   * Whether the update is published by the loader symlink swap alone (libostree's is_atomic);
   * decides "Transaction complete" vs "Bootloader updated".
   */
  readonly atomic: boolean;
  writeConfig(ctx: BootloaderWriteContext): Promise<void>;
}
