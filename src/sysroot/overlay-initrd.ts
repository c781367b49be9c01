// Overlay initrds (libostree's ostree_sysroot_stage_overlay_initrd and the initramfs-overlays part
// of install_deployment_kernel / cleanup_bootfs): an extra cpio the boot loader appends after a
// deployment's own initramfs. It is staged first under the run directory as
// staged-initrds/<sha256 of its bytes> (mode 0600, written atomically), named by that checksum in
// the deploy options; writing the boot set copies (or hardlinks) it once to
// boot/ostree/initramfs-overlays/<sha256>.img and adds an `initrd` line per overlay after the
// main one. The deployment's list lives only in its BLS entry (and, while staged, in the
// staged-deployment file): reading the entries back gives it, and cleanup deletes every
// overlay no entry names.

import type { BootConfig } from './bootconfig.ts';
import { ensureDir, linkOrCopy } from './fsutil.ts';
import { joinPath } from '../util/path.ts';
import { randomSuffix } from '../util/atomic-write.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { toHex } from '../util/bytes.ts';
import type { Sysroot } from './sysroot.ts';

/** Relative to /boot, as libostree's _OSTREE_SYSROOT_BOOT_INITRAMFS_OVERLAYS. */
export const BOOT_OVERLAYS_DIR = 'ostree/initramfs-overlays';
/** Relative to the run directory (libostree: /run/ostree/staged-initrds/). */
export const STAGED_INITRDS_DIR = 'staged-initrds';
/** An overlay initrd bigger than this is refused (/boot is small; real ones are kilobytes). */
export const MAX_OVERLAY_INITRD = 256 * 1024 * 1024;
/** Overlays one deployment may carry. */
export const MAX_OVERLAYS = 64;

const CHECKSUM_RE = /^[0-9a-f]{64}$/;

/** Checks a list of overlay checksums (hostile: from files and options). */
export function validateOverlayInitrds(list: readonly string[], what = 'overlay initrds'): void {
  if (!Array.isArray(list)) throw new TypeError(`${what}: expected an array of checksums`);
  if (list.length > MAX_OVERLAYS) throw new XylemError(`${what}: more than ${MAX_OVERLAYS} overlay initrds`, 'EINVAL');
  for (const c of list) if (typeof c !== 'string' || !CHECKSUM_RE.test(c)) throw new XylemError(`${what}: invalid overlay initrd checksum '${String(c)}'`, 'EINVAL');
}

/** Path of a staged overlay in the run directory. */
export function stagedInitrdPath(sysroot: Sysroot, checksum: string): string {
  return joinPath(sysroot.runDir, STAGED_INITRDS_DIR, checksum);
}

/** The BLS `initrd` value of an overlay (the /boot-relative path libostree writes). */
export function overlayBootPath(checksum: string): string {
  return `/${BOOT_OVERLAYS_DIR}/${checksum}.img`;
}

/**
 * The overlay checksums an entry's extra `initrd` lines name (libostree's parse of them in
 * ostree-sysroot.c): every basename must be `<sha256>.img`.
 */
export function overlaysOfBootconfig(bc: BootConfig, what = 'boot loader entry'): string[] {
  const out: string[] = [];
  for (const p of bc.extraInitrds) {
    const base = p.slice(p.lastIndexOf('/') + 1);
    const m = /^([0-9a-f]{64})\.img$/.exec(base);
    if (!m) throw new XylemError(`${what}: Malformed overlay initrd filename: ${base}`, 'ECORRUPT');
    out.push(m[1]!);
  }
  return out;
}

/**
 * Stages an overlay initrd read from `source` (a file path on the host; streamed, hashed as it is
 * copied) and returns its sha256. The staged file appears complete or not at all.
 */
export async function stageOverlayInitrd(sysroot: Sysroot, source: string): Promise<string> {
  if (typeof source !== 'string' || source === '') throw new TypeError('stageOverlayInitrd: a source path is required');
  const fs = sysroot.fs;
  const st = await fs.stat(source);
  if (!st) throw new XylemError(`opening overlay initrd ${source}: No such file or directory`, 'ENOENT');
  if (st.kind !== 'file') throw new XylemError(`overlay initrd ${source}: not a regular file`, 'EINVAL');
  if (st.size > MAX_OVERLAY_INITRD) throw new XylemError(`overlay initrd ${source}: larger than ${MAX_OVERLAY_INITRD} bytes`, 'EFBIG');
  const dir = joinPath(sysroot.runDir, STAGED_INITRDS_DIR);
  await ensureDir(fs, sysroot.runDir);
  await ensureDir(fs, dir);
  const tmp = joinPath(dir, `.tmp-${randomSuffix()}`);
  const sha = (await sysroot.repo()).createSha256();
  const rh = await fs.openRead(source);
  try {
    const wh = await fs.openWrite(tmp, { mode: 0o600, fsync: true, exclusive: true });
    try {
      const buf = new Uint8Array(1 << 16);
      let pos = 0;
      for (;;) {
        const n = await rh.read(buf, 0, buf.length, pos);
        if (n === 0) break;
        pos += n;
        if (pos > MAX_OVERLAY_INITRD) throw new XylemError(`overlay initrd ${source}: larger than ${MAX_OVERLAY_INITRD} bytes`, 'EFBIG');
        const chunk = buf.slice(0, n);
        sha.update(chunk);
        await wh.write(chunk);
      }
    } finally {
      await wh.close();
    }
    const checksum = toHex(sha.digest());
    await fs.chmod(tmp, 0o600);
    await fs.rename(tmp, stagedInitrdPath(sysroot, checksum));
    await fs.fsyncDir(dir);
    return checksum;
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  } finally {
    await rh.close();
  }
}

/** Stages overlay initrd bytes made in memory (the initramfs-etc cpio); returns the sha256. */
export async function stageOverlayInitrdBytes(sysroot: Sysroot, data: Uint8Array): Promise<string> {
  if (!(data instanceof Uint8Array)) throw new TypeError('stageOverlayInitrdBytes: data must be a Uint8Array');
  if (data.length > MAX_OVERLAY_INITRD) throw new XylemError(`overlay initrd: larger than ${MAX_OVERLAY_INITRD} bytes`, 'EFBIG');
  const fs = sysroot.fs;
  const sha = (await sysroot.repo()).createSha256();
  sha.update(data);
  const checksum = toHex(sha.digest());
  const dir = joinPath(sysroot.runDir, STAGED_INITRDS_DIR);
  await ensureDir(fs, sysroot.runDir);
  await ensureDir(fs, dir);
  const tmp = joinPath(dir, `.tmp-${randomSuffix()}`);
  try {
    await fs.writeFile(tmp, data, { mode: 0o600, fsync: true, exclusive: true });
    await fs.chmod(tmp, 0o600);
    await fs.rename(tmp, stagedInitrdPath(sysroot, checksum));
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fs.fsyncDir(dir);
  return checksum;
}

/** Refuses overlays that are neither staged nor already in /boot (before anything is written). */
export async function checkOverlaysAvailable(sysroot: Sysroot, list: readonly string[]): Promise<void> {
  validateOverlayInitrds(list);
  for (const c of list) {
    if (await sysroot.fs.lstat(sysroot.abs(`boot/${BOOT_OVERLAYS_DIR}/${c}.img`))) continue;
    const st = await sysroot.fs.lstat(stagedInitrdPath(sysroot, c));
    if (!st || st.kind !== 'file') throw new XylemError(`Overlay initrd ${c} is not staged (${stagedInitrdPath(sysroot, c)}: No such file or directory)`, 'ENOENT');
  }
}

/**
 * Installs a deployment's overlays into boot/ostree/initramfs-overlays (only those not there
 * yet; hardlinked from the staged copy when possible, else copied atomically) and returns the
 * `initrd` values for its entry. The caller syncs /boot before publishing.
 */
export async function installOverlayInitrds(sysroot: Sysroot, list: readonly string[]): Promise<string[]> {
  if (list.length === 0) return [];
  validateOverlayInitrds(list);
  const fs = sysroot.fs;
  const dir = sysroot.abs(`boot/${BOOT_OVERLAYS_DIR}`);
  await ensureDir(fs, sysroot.abs('boot/ostree'));
  await ensureDir(fs, dir);
  const out: string[] = [];
  for (const c of list) {
    const dest = joinPath(dir, `${c}.img`);
    if (!(await fs.lstat(dest))) {
      const src = stagedInitrdPath(sysroot, c);
      if (!(await fs.lstat(src))) throw new XylemError(`Installing overlay initrd ${c}: ${src}: No such file or directory`, 'ENOENT');
      await linkOrCopy(fs, src, dest, 0o600);
    }
    out.push(overlayBootPath(c));
  }
  await fs.fsyncDir(dir);
  return out;
}

/** Deletes the regular files of boot/ostree/initramfs-overlays no entry in `used` names. */
export async function cleanupOverlayInitrds(sysroot: Sysroot, used: ReadonlySet<string>): Promise<string[]> {
  const fs = sysroot.fs;
  const dir = sysroot.abs(`boot/${BOOT_OVERLAYS_DIR}`);
  const st = await fs.lstat(dir);
  if (!st || st.kind !== 'dir') return [];
  const deleted: string[] = [];
  for (const e of await fs.readdir(dir)) {
    if (e.kind !== 'file' || used.has(e.name)) continue;
    await fs.unlink(joinPath(dir, e.name)).catch((err) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
    deleted.push(`boot/${BOOT_OVERLAYS_DIR}/${e.name}`);
  }
  return deleted;
}
