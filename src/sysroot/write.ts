// Publishing a new deployment list, libostree's swap protocol. When the boot configuration
// changes (count, or any position's boot checksum, kernel arguments or version), the other boot
// version is built completely — ostree/boot.B'.S' links, kernels in boot/ostree/OS-BOOTCSUM,
// boot/loader.B'/entries/ostree-K-OS.conf and the bootloader's own file — synced, and then the
// boot/loader symlink is renamed over: a crash leaves the old or the new boot set, never a mix.
// Otherwise only ostree/boot.B is retargeted at a fresh boot.B.S' link farm.

import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { BootConfig } from './bootconfig.ts';
import { KernelArgs } from './kargs.ts';
import { type Deployment, deploymentsEqual, isPinned, validateOsname } from './deployment.ts';
import { detectBootloader, type Bootloader } from './bootloader/index.ts';
import { copyEntry, ensureDir, linkOrCopy, readlinkOrNull, symlinkAtomic, syncFilesystem, writeTextAtomic } from './fsutil.ts';
import { osReleaseTitle, readOsRelease } from './os-release.ts';
import { findKernel } from './kernel.ts';
import { checkBootSpace } from './space.ts';
import { cleanupSysroot } from './cleanup.ts';
import { removeDeploymentFiles } from './seal.ts';
import { discardFailedDeployment } from './deploy.ts';
import { stagedLockedPath, stagedPath } from './staged.ts';
import { installOverlayInitrds } from './overlay-initrd.ts';
import { errnoCode } from '../util/errors.ts';
import type { Sysroot } from './sysroot.ts';

export interface WriteDeploymentsOptions {
  /** Delete what the new list no longer uses and prune the repo (default true). */
  postclean?: boolean;
  out?: (line: string) => void;
}

export interface WriteResult {
  swapped: boolean;
  bootversion: number;
  subbootversion: number;
}

/** Numbers each deployment among those with the same osname and boot checksum. */
function assignBootserials(list: Deployment[]): void {
  const seen = new Map<string, number>();
  list.forEach((d, i) => {
    d.index = i;
    const k = `${d.osname}\0${d.bootcsum}`;
    const n = seen.get(k) ?? 0;
    d.bootserial = n;
    seen.set(k, n + 1);
  });
}

function kargsWithoutOstree(d: Deployment): string {
  const k = KernelArgs.parse(d.bootconfig.get('options') ?? '');
  k.deleteKey('ostree');
  return k.toString();
}

async function bootconfigsEqual(sysroot: Sysroot, a: Deployment, b: Deployment): Promise<boolean> {
  if (a.bootcsum !== b.bootcsum || a.osname !== b.osname) return false;
  if (kargsWithoutOstree(a) !== kargsWithoutOstree(b)) return false;
  if ((a.overlayInitrds ?? []).join('') !== (b.overlayInitrds ?? []).join('')) return false;
  return (await sysroot.deploymentVersion(a)) === (await sysroot.deploymentVersion(b));
}

/** ostree/boot.B.S/OS/BOOTCSUM/N → ../../../deploy/OS/deploy/CSUM.SERIAL for every deployment. */
async function createBootlinks(sysroot: Sysroot, bootversion: number, subbootversion: number, list: Deployment[]): Promise<void> {
  const fs = sysroot.fs;
  const dir = sysroot.abs(`ostree/boot.${bootversion}.${subbootversion}`);
  await fs.rmrf(dir);
  await fs.mkdir(dir, { mode: 0o755 });
  for (const d of list) {
    await ensureDir(fs, joinPath(dir, d.osname));
    await ensureDir(fs, joinPath(dir, d.osname, d.bootcsum));
    await fs.symlink(`../../../deploy/${d.osname}/deploy/${d.csum}.${d.deployserial}`, joinPath(dir, d.osname, d.bootcsum, String(d.bootserial)));
  }
}

/**
 * Installs the kernel files of `d` into boot/ostree/OS-BOOTCSUM (hardlinked when possible) and
 * writes its BLS entry for `bootversion`.
 */
async function installDeploymentKernel(
  sysroot: Sysroot,
  bootversion: number,
  d: Deployment,
  count: number,
  showOsname: boolean,
): Promise<BootConfig> {
  const fs = sysroot.fs;
  const root = sysroot.deploymentPath(d);
  const layout = await findKernel(fs, root, { noDtb: sysroot.debug.noDtb });
  const bootRel = `ostree/${d.osname}-${d.bootcsum}`;
  const bootDir = sysroot.abs(`boot/${bootRel}`);
  await ensureDir(fs, sysroot.abs('boot/ostree'));
  await ensureDir(fs, bootDir);
  for (const f of [layout.kernel, layout.initramfs, layout.devicetree, layout.hmac]) {
    if (!f) continue;
    const dest = joinPath(bootDir, f.dest);
    if (await fs.lstat(dest)) continue;
    await linkOrCopy(fs, joinPath(root, f.src), dest, 0o644);
  }
  if (layout.dtbDir && !(await fs.lstat(joinPath(bootDir, layout.dtbDir.dest))))
    await copyEntry(fs, joinPath(root, layout.dtbDir.src), joinPath(bootDir, layout.dtbDir.dest));
  await fs.fsyncDir(bootDir);

  let title = osReleaseTitle(await readOsRelease(fs, root));
  const version = await sysroot.deploymentVersion(d);
  if (version && !title.includes(version)) title += ` ${version}`;
  title += showOsname ? ` (ostree:${d.osname}:${d.index})` : ` (ostree:${d.index})`;

  const bc = d.bootconfig.clone();
  const kargs = KernelArgs.parse(bc.get('options') ?? '');
  const bootlink = `/ostree/boot.${bootversion}/${d.osname}/${d.bootcsum}/${d.bootserial}`;
  kargs.replace(`ostree=${bootlink}`);
  // Without an initramfs the kernel starts ostree-prepare-root of the deployment directly.
  if (!layout.initramfs) kargs.replace(`init=${bootlink}/usr/lib/ostree/ostree-prepare-root`);
  const k = count - d.index;
  bc.set('title', title);
  bc.set('version', String(k));
  bc.set('options', kargs.toString());
  bc.set('linux', `/${bootRel}/${layout.kernel.dest}`);
  if (layout.initramfs) bc.set('initrd', `/${bootRel}/${layout.initramfs.dest}`);
  else bc.delete('initrd');
  // Overlays follow the main initramfs (libostree writes them only after one).
  bc.extraInitrds = await installOverlayInitrds(sysroot, d.overlayInitrds ?? []);
  if (layout.devicetree) bc.set('devicetree', `/${bootRel}/${layout.devicetree.dest}`);
  else bc.delete('devicetree');
  if (layout.dtbDir && !layout.devicetree) bc.set('fdtdir', `/${bootRel}/${layout.dtbDir.dest}`);
  else bc.delete('fdtdir');
  await writeTextAtomic(fs, sysroot.abs(`boot/loader.${bootversion}/entries/ostree-${k}-${d.osname}.conf`), bc.toString());
  return bc;
}

/**
 * Makes everything written so far durable before the publishing rename (libostree syncs and
 * freezes/thaws /boot here). OSTREE_SYSROOT_DEBUG=test-fifreeze makes it fail like ostree's test
 * hook, so nothing is published.
 */
async function fullSystemSync(sysroot: Sysroot): Promise<void> {
  await syncFilesystem(sysroot.fs, sysroot.abs('ostree'));
  await syncFilesystem(sysroot.fs, sysroot.abs('boot'));
  if (sysroot.debug.testFifreeze) throw new XylemError('During fsfreeze-thaw: aborting due to test-fifreeze (fifreeze watchdog was run)');
}

/** Writes `list` as the new boot set (see the file header). Updates `sysroot` in place. */
export async function writeDeployments(sysroot: Sysroot, list: Deployment[], opts: WriteDeploymentsOptions = {}): Promise<WriteResult> {
  await sysroot.ensureWriteLock();
  const fs = sysroot.fs;
  const out = opts.out ?? (() => undefined);
  // The staged deployment is not part of the boot set: it stays staged when the new list still
  // starts with it, else it is dropped (its state file first, then its folder), as libostree.
  const staged = sysroot.staged;
  let keepStaged = false;
  if (staged) {
    keepStaged = list[0] === staged || (list.length > 0 && list[0]!.staged === true && deploymentsEqual(list[0], staged));
    list = list.filter((d) => !d.staged && !deploymentsEqual(d, staged));
    if (!keepStaged) {
      await fs.unlink(stagedPath(sysroot)).catch((e) => {
        if (errnoCode(e) !== 'ENOENT') throw e;
      });
      await removeDeploymentFiles(sysroot, staged);
      await fs.rmrf(stagedLockedPath(sysroot));
      sysroot.staged = null;
      sysroot.stagedState = null;
    }
    sysroot.deployments = sysroot.deployments.filter((d) => d !== staged);
  } else list = list.filter((d) => !d.staged);
  for (let i = 0; i < list.length; i++) {
    validateOsname(list[i]!.osname);
    for (let j = 0; j < i; j++) if (deploymentsEqual(list[i], list[j])) throw new XylemError('Duplicate deployment in list');
  }
  if (sysroot.booted && !list.some((d) => deploymentsEqual(d, sysroot.booted)))
    throw new XylemError('Attempting to remove booted deployment');
  const old = sysroot.deployments;
  let requiresNew = old.length !== list.length;
  if (!requiresNew) for (let i = 0; i < list.length && !requiresNew; i++) if (!(await bootconfigsEqual(sysroot, old[i]!, list[i]!))) requiresNew = true;
  assignBootserials(list);

  let bootversion = sysroot.bootversion;
  let subbootversion: number;
  let bootloader: Bootloader | null = null;
  if (!requiresNew) {
    subbootversion = sysroot.subbootversion === 0 ? 1 : 0;
    await createBootlinks(sysroot, bootversion, subbootversion, list);
    await fullSystemSync(sysroot);
    await symlinkAtomic(fs, `boot.${bootversion}.${subbootversion}`, sysroot.abs(`ostree/boot.${bootversion}`));
    list.forEach((d, i) => (d.bootconfig = old[i]!.bootconfig));
  } else {
    await checkBootSpace(sysroot, list.map((d) => ({ osname: d.osname, bootcsum: d.bootcsum, root: sysroot.deploymentPath(d) })));
    bootversion = sysroot.bootversion === 0 ? 1 : 0;
    subbootversion = (await sysroot.readSubbootversion(bootversion)) === 0 ? 1 : 0;
    await createBootlinks(sysroot, bootversion, subbootversion, list);
    // boot/boot → . lets paths with and without the /boot prefix work when boot/ is not its own
    // partition (syslinux, the BLS entries' /ostree/… paths).
    if (!(await fs.lstat(sysroot.abs('boot/boot')))) await fs.symlink('.', sysroot.abs('boot/boot'));
    const loaderDir = sysroot.abs(`boot/loader.${bootversion}`);
    await fs.rmrf(loaderDir);
    await fs.mkdir(loaderDir, { mode: 0o755 });
    await fs.mkdir(joinPath(loaderDir, 'entries'), { mode: 0o755 });
    const showOsname = new Set(list.map((d) => d.osname)).size > 1;
    const entries: BootConfig[] = [];
    for (const d of list) entries.push(await installDeploymentKernel(sysroot, bootversion, d, list.length, showOsname));
    bootloader = await detectBootloader(sysroot);
    if (bootloader) {
      await bootloader.writeConfig({
        sysroot,
        bootversion,
        entries,
        deploymentPath: (i) => sysroot.deploymentPath(list[i]!),
      });
    }
    list.forEach((d, i) => (d.bootconfig = entries[i]!));
    // Everything of the new set is durable before anything points at it.
    await fullSystemSync(sysroot);
    await fs.fsyncDir(joinPath(loaderDir, 'entries'));
    await fs.fsyncDir(loaderDir);
    await symlinkAtomic(fs, `boot.${bootversion}.${subbootversion}`, sysroot.abs(`ostree/boot.${bootversion}`));
    // The commit point.
    await symlinkAtomic(fs, `loader.${bootversion}`, sysroot.abs('boot/loader'));
    // On a running system, checkpoint /boot's journal before the cleanup below removes the old
    // boot.N links: otherwise a power cut can leave a disk whose unreplayed state (what GRUB reads)
    // still selects the old loader.N, whose entries point through links the replayed state (what
    // the kernel mounts) no longer has — neither deployment boots (found by the power-loss campaign).
    // Only on the running system itself (booted, sysroot /): an image or a sysroot in a folder is
    // synced by whoever unmounts it.
    if (sysroot.booted !== null && sysroot.path === '/' && !sysroot.debug.noFsfreeze && fs.freezeThaw) await fs.freezeThaw(sysroot.abs('boot'));
  }
  const atomicLoader = !requiresNew || (bootloader !== null && bootloader.atomic);
  out(
    `${atomicLoader ? 'Transaction complete' : 'Bootloader updated'}; bootconfig swap: ${requiresNew ? 'yes' : 'no'}; ` +
      `bootversion: boot.${bootversion}.${subbootversion}, deployment count change: ${list.length - old.length}`,
  );
  sysroot.bootversion = bootversion;
  sysroot.subbootversion = subbootversion;
  sysroot.deployments = keepStaged && staged ? [staged, ...list] : list;
  sysroot.deployments.forEach((d, i) => (d.index = i));
  await sysroot.bumpMtime();
  if (opts.postclean !== false) await cleanupSysroot(sysroot, { prune: true, out });
  return { swapped: requiresNew, bootversion, subbootversion };
}

export interface SimpleWriteOptions {
  /** Keep every existing deployment. */
  retain?: boolean;
  /** Keep deployments newer than the booted (or merge) one. */
  retainPending?: boolean;
  /** Keep deployments older than the booted (or merge) one. */
  retainRollback?: boolean;
  /** Add it after the booted (or merge) deployment instead of first. */
  notDefault?: boolean;
  /** Skip cleanup and pruning. */
  noClean?: boolean;
  out?: (line: string) => void;
}

/**
 * The deployment list after adding `newDeployment` (libostree's simple_write_deployment): it
 * goes first (or after the crossover point with notDefault); the booted and merge deployments,
 * pinned ones, other stateroots' and those asked for by the retain options stay.
 */
export function planNewDeploymentList(
  sysroot: Sysroot,
  osname: string | null,
  newDeployment: Deployment,
  merge: Deployment | null,
  opts: SimpleWriteOptions = {},
): Deployment[] {
  const booted = sysroot.booted;
  const out: Deployment[] = [];
  let addedNew = false;
  if (!opts.notDefault) {
    out.push(newDeployment);
    addedNew = true;
  }
  let retain = !!opts.retain;
  if (!booted && !merge && (opts.retainPending || opts.retainRollback)) retain = true;
  let beforeBooted = true;
  let beforeMerge = true;
  for (const d of sysroot.deployments) {
    const osMatches = osname === null || d.osname === osname;
    const isBooted = deploymentsEqual(d, booted);
    const isMerge = deploymentsEqual(d, merge);
    if (isBooted) beforeBooted = false;
    if (isMerge) beforeMerge = false;
    const passedCrossover = booted ? !beforeBooted : !beforeMerge;
    if (
      retain ||
      isPinned(d) ||
      !osMatches ||
      (opts.retainPending && !passedCrossover) ||
      isBooted ||
      isMerge ||
      (opts.retainRollback && passedCrossover)
    )
      out.push(d);
    if (!addedNew && passedCrossover) {
      out.push(newDeployment);
      addedNew = true;
    }
  }
  if (!addedNew) out.push(newDeployment);
  return out;
}

/** Adds `newDeployment` to the boot set (see planNewDeploymentList) and writes it. */
export async function simpleWriteDeployment(
  sysroot: Sysroot,
  osname: string | null,
  newDeployment: Deployment,
  merge: Deployment | null,
  opts: SimpleWriteOptions = {},
): Promise<WriteResult> {
  await sysroot.ensureWriteLock();
  const list = planNewDeploymentList(sysroot, osname, newDeployment, merge, opts);
  const known = sysroot.deployments.some((d) => deploymentsEqual(d, newDeployment));
  const before = await bootLinks(sysroot);
  try {
    return await writeDeployments(sysroot, list, { postclean: !opts.noClean, out: opts.out });
  } catch (e) {
    // A new deployment that never made it into the boot set is an orphan: remove it. Once either
    // boot link moved, the new set may be live (even if memory does not know it): leave it.
    if (!known && (await bootLinks(sysroot).catch(() => null)) === before) await discardFailedDeployment(sysroot, newDeployment);
    throw e;
  }
}

/** boot/loader and ostree/boot.B targets: they change exactly when a boot set is published. */
async function bootLinks(sysroot: Sysroot): Promise<string> {
  const loader = await readlinkOrNull(sysroot.fs, sysroot.abs('boot/loader'));
  const links = await Promise.all([0, 1].map((b) => readlinkOrNull(sysroot.fs, sysroot.abs(`ostree/boot.${b}`))));
  return JSON.stringify([loader, ...links]);
}
