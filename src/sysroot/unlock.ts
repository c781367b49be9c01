// `ostree admin unlock [--hotfix|--transient]` (libostree's ostree_sysroot_deployment_unlock): an
// overlayfs over /usr of the booted deployment. development/transient keep the overlay's upper and
// work folders in the deployment's backing folder (ostree/deploy/OS/backing/CSUM.SERIAL/
// usr-transient, emptied first: nothing survives a reboot) and mark the state with an empty file
// in /run/ostree/deployment-state/CSUM.SERIAL/ (unlocked-development | unlocked-transient);
// transient mounts the overlay read-only. hotfix first deploys an unmodified clone as the
// non-default rollback, keeps upper/work in the deployment itself (.usr-ovl-upper/.usr-ovl-work,
// which ostree-prepare-root mounts at every boot) and records `unlocked=hotfix` in the origin.
// The mount goes through Host.mounts. The state is read back as libostree does when it loads a
// sysroot (deploymentUnlockedState).

import type { Deployment } from './deployment.ts';
import { deploymentsEqual } from './deployment.ts';
import type { Sysroot } from './sysroot.ts';
import { deployTree } from './deploy.ts';
import { simpleWriteDeployment } from './write.ts';
import { writeOrigin } from './ops.ts';
import { writeTextAtomic } from './fsutil.ts';
import { KeyFile } from '../format/keyfile.ts';
import { KernelArgs } from './kargs.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';

export type UnlockedState = 'none' | 'development' | 'hotfix' | 'transient';
export type UnlockTarget = Exclude<UnlockedState, 'none'>;

/** Where the running system's /usr is (ostree always mounts on /usr). */
export const USR_MOUNTPOINT = '/usr';

/** libostree's per-deployment run state folder: RUNDIR/deployment-state/CSUM.SERIAL. */
export function deploymentRunstateDir(sysroot: Sysroot, d: Pick<Deployment, 'csum' | 'deployserial'>): string {
  return joinPath(sysroot.runDir, 'deployment-state', `${d.csum}.${d.deployserial}`);
}

/** The deployment's backing folder (sysroot-relative): ostree/deploy/OS/backing/CSUM.SERIAL. */
export function deploymentBackingPath(sysroot: Sysroot, d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): string {
  return sysroot.abs(`ostree/deploy/${d.osname}/backing/${d.csum}.${d.deployserial}`);
}

/** The upper/work folders of a development or transient unlock. */
export function transientOverlayDirs(sysroot: Sysroot, d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): { dir: string; upper: string; work: string } {
  const dir = joinPath(deploymentBackingPath(sysroot, d), 'usr-transient');
  return { dir, upper: joinPath(dir, 'upper'), work: joinPath(dir, 'work') };
}

/**
 * As libostree reads it: the run state flags first, else the origin's `unlocked=hotfix`. The run
 * state is only consulted for the sysroot of the running system (the run folder is its own).
 */
export async function deploymentUnlockedState(sysroot: Sysroot, d: Deployment): Promise<UnlockedState> {
  if (sysroot.runningDeployment) {
    const dir = deploymentRunstateDir(sysroot, d);
    if (await sysroot.fs.lstat(joinPath(dir, 'unlocked-development')).catch(() => null)) return 'development';
    if (await sysroot.fs.lstat(joinPath(dir, 'unlocked-transient')).catch(() => null)) return 'transient';
  }
  return d.origin?.get('origin', 'unlocked') === 'hotfix' ? 'hotfix' : 'none';
}

/**
 * The booted deployment, or ostree's refusal. Only the deployment this process really runs in
 * counts (not one named booted by an option): its /usr is the one that gets mounted over.
 */
export function requireBooted(sysroot: Sysroot): Deployment {
  if (!sysroot.booted || !deploymentsEqual(sysroot.booted, sysroot.runningDeployment)) throw new XylemError('Not currently booted into an OSTree system', 'ENOTBOOTED');
  return sysroot.booted;
}

/** What ostree prints after each kind of unlock. */
export function unlockMessage(state: UnlockTarget): string {
  switch (state) {
    case 'hotfix':
      return 'Hotfix mode enabled.  A writable overlayfs is now mounted on /usr\nfor this booted deployment.  A non-hotfixed clone has been created\nas the non-default rollback target.';
    case 'development':
      return 'Development mode enabled.  A writable overlayfs is now mounted on /usr.\nAll changes there will be discarded on reboot.';
    case 'transient':
      return 'A writable overlayfs is prepared for /usr, but is mounted read-only by default.\nAll changes there will be discarded on reboot.';
  }
}

/** mkdir -p then chmod, so the umask does not change the mode (ostree's mkdir_unmasked). */
async function mkdirUnmasked(sysroot: Sysroot, path: string, mode: number): Promise<void> {
  await sysroot.fs.mkdir(path, { recursive: true, mode });
  await sysroot.fs.chmod(path, mode);
}

/** Deploys an unmodified copy of `d` as the non-default rollback (ostree's clone_deployment). */
async function cloneDeployment(sysroot: Sysroot, d: Deployment, merge: Deployment, out?: (l: string) => void): Promise<Deployment> {
  const kargs = KernelArgs.parse(merge.bootconfig.get('options') ?? '');
  const origin = d.origin ? KeyFile.parse(d.origin.toString()) : null;
  const clone = await deployTree(sysroot, { osname: d.osname, revision: d.csum, origin, mergeDeployment: merge, overrideKargs: kargs.toArgv(), ...(out ? { out } : {}) });
  await simpleWriteDeployment(sysroot, d.osname, clone, merge, { notDefault: true, ...(out ? { out } : {}) });
  return clone;
}

export interface UnlockOptions {
  /** Progress lines of the hotfix clone's deploy. */
  out?: (line: string) => void;
}

/**
 * Unlocks the booted deployment `d` (see the file header). The caller holds the sysroot lock.
 * Refused when not booted, when `d` is not the booted deployment, when already unlocked, and
 * without Host.mounts.
 */
export async function unlockDeployment(sysroot: Sysroot, d: Deployment, state: UnlockTarget, opts: UnlockOptions = {}): Promise<void> {
  if (state !== 'development' && state !== 'hotfix' && state !== 'transient') throw new XylemError(`Invalid unlock state '${String(state)}'`, 'EINVAL');
  const booted = requireBooted(sysroot);
  if (!deploymentsEqual(booted, d)) throw new XylemError(`${d.csum}.${d.deployserial} is not the booted deployment: only /usr of the running system can be unlocked`, 'EINVAL');
  const current = await deploymentUnlockedState(sysroot, d);
  if (current !== 'none') throw new XylemError(`Deployment is already in unlocked state: ${current}`, 'EUNLOCKED');
  const mounts = sysroot.host.mounts;
  if (!mounts) throw new XylemError('This runtime cannot mount file systems (no Host.mounts): cannot unlock /usr', 'ENOSYS');
  const merge = sysroot.mergeDeployment(d.osname);
  if (!merge) throw new XylemError('No previous deployment to duplicate');
  if (state === 'hotfix') await cloneDeployment(sysroot, d, merge, opts.out);
  const fs = sysroot.fs;
  const root = sysroot.deploymentPath(d);
  // Crack it open (libostree: ostree_sysroot_deployment_set_mutable).
  if (fs.setImmutable && !sysroot.debug.mutableDeployments) await fs.setImmutable(root, false);
  const usr = await fs.stat(joinPath(root, 'usr'));
  if (!usr || usr.kind !== 'dir') throw new XylemError(`${root}/usr: not a directory`, 'ECORRUPT');
  const usrMode = usr.mode & 0o7777;
  let upper: string;
  let work: string;
  if (state === 'hotfix') {
    upper = joinPath(root, '.usr-ovl-upper');
    work = joinPath(root, '.usr-ovl-work');
    await mkdirUnmasked(sysroot, upper, usrMode);
    await mkdirUnmasked(sysroot, work, usrMode);
  } else {
    const t = transientOverlayDirs(sysroot, d);
    // Leftovers of an earlier boot must not come back.
    await fs.rmrf(t.dir);
    await mkdirUnmasked(sysroot, t.dir, usrMode);
    await mkdirUnmasked(sysroot, t.upper, usrMode);
    await mkdirUnmasked(sysroot, t.work, usrMode);
    ({ upper, work } = t);
  }
  await mounts.overlay({ lower: joinPath(root, 'usr'), upper, work, target: USR_MOUNTPOINT, readOnly: state === 'transient' });
  if (state === 'hotfix') {
    const origin = d.origin ? KeyFile.parse(d.origin.toString()) : new KeyFile();
    origin.set('origin', 'unlocked', 'hotfix');
    await writeOrigin(sysroot, d, origin);
  } else {
    const dir = deploymentRunstateDir(sysroot, d);
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    await writeTextAtomic(fs, joinPath(dir, `unlocked-${state}`), '');
  }
  await sysroot.bumpMtime();
}

/**
 * Makes sure /usr of the running system is the overlay of a development/transient unlock of `d`:
 * when the mount is gone but the state and folders remain (the mount was lost, the state was not),
 * mounts them again, keeping what the upper folder holds. Returns whether /usr is now an overlay.
 */
export async function remountTransientOverlay(sysroot: Sysroot, d: Deployment, readOnly: boolean): Promise<boolean> {
  const mounts = sysroot.host.mounts;
  if (!mounts) throw new XylemError('This runtime cannot mount file systems (no Host.mounts)', 'ENOSYS');
  const info = await mounts.info(USR_MOUNTPOINT);
  if (info?.fstype === 'overlay') return true;
  const t = transientOverlayDirs(sysroot, d);
  for (const p of [t.upper, t.work]) {
    const st = await sysroot.fs.lstat(p).catch(() => null);
    if (!st || st.kind !== 'dir') return false;
  }
  await mounts.overlay({ lower: joinPath(sysroot.deploymentPath(d), 'usr'), upper: t.upper, work: t.work, target: USR_MOUNTPOINT, readOnly });
  return true;
}
