// The admin operations on a loaded sysroot that are not deploy itself: undeploy, set-default,
// pin, in-place kernel-argument edits, config-diff, set-origin, and writing origin files.

import { KeyFile } from '../format/keyfile.ts';
import { parseRefspec } from '../repo/refs.ts';
import { addRemote, type RemoteOptions } from '../remote/config.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { KernelArgs } from './kargs.ts';
import { type Deployment, deploymentsEqual } from './deployment.ts';
import { diffDirs, type EtcDiff } from './etc-merge.ts';
import { writeFileAtomic, writeTextAtomic } from './fsutil.ts';
import { encodeStagedState, stagedPath } from './staged.ts';
import { writeDeployments, type WriteResult } from './write.ts';
import type { Sysroot } from './sysroot.ts';

/** The deployment at `index`, with ostree's out-of-range message. */
export function deploymentAt(sysroot: Sysroot, index: number): Deployment {
  if (!Number.isInteger(index) || index < 0) throw new XylemError(`Invalid index ${index}`);
  const n = sysroot.deployments.length;
  if (index >= n) throw new XylemError(`Out of range deployment index ${index}, expected < ${n}`);
  return sysroot.deployments[index]!;
}

/** Parses a deployment index argument as ostree does (a non-negative decimal). */
export function parseDeploymentIndex(s: string): number {
  if (!/^\d+$/.test(s)) throw new XylemError(`Invalid index: ${s}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > 0x7fffffff) throw new XylemError(`Invalid index: ${s}`);
  return n;
}

/** Removes the deployment at `index` from the boot set (not the booted one). */
export async function undeploy(sysroot: Sysroot, index: number, out?: (l: string) => void): Promise<{ removed: Deployment; result: WriteResult }> {
  await sysroot.ensureWriteLock();
  const target = deploymentAt(sysroot, index);
  if (deploymentsEqual(target, sysroot.booted)) throw new XylemError(`Cannot undeploy currently booted deployment ${index}`);
  const list = sysroot.deployments.filter((d) => d !== target);
  const result = await writeDeployments(sysroot, list, { out });
  return { removed: target, result };
}

/** Moves the deployment at `index` to the front (the default boot entry). */
export async function setDefault(sysroot: Sysroot, index: number, out?: (l: string) => void): Promise<WriteResult | null> {
  await sysroot.ensureWriteLock();
  const target = deploymentAt(sysroot, index);
  if (index === 0) return null;
  const list = [target, ...sysroot.deployments.filter((d) => d !== target)];
  return writeDeployments(sysroot, list, { out });
}

/** Atomically replaces a deployment's .origin (and its in-memory copy). */
export async function writeOrigin(sysroot: Sysroot, d: Deployment, origin: KeyFile): Promise<void> {
  await sysroot.ensureWriteLock();
  await writeTextAtomic(sysroot.fs, sysroot.originPath(d), origin.toString());
  d.origin = origin;
}

function copyOrigin(d: Deployment): KeyFile {
  return d.origin ? KeyFile.parse(d.origin.toString()) : new KeyFile();
}

/** Pins (kept by every later deploy) or unpins a deployment. */
export async function setPinned(sysroot: Sysroot, index: number, pinned: boolean): Promise<Deployment> {
  await sysroot.ensureWriteLock();
  const d = deploymentAt(sysroot, index);
  if (d.staged) throw new XylemError('Cannot pin staged deployment');
  const origin = copyOrigin(d);
  if (pinned) origin.setBoolean('libostree-transient', 'pinned', true);
  else {
    origin.remove('libostree-transient', 'pinned');
    if (origin.keys('libostree-transient').length === 0) origin.removeGroup('libostree-transient');
  }
  await writeOrigin(sysroot, d, origin);
  return d;
}

/**
 * Rewrites the kernel arguments of a deployment's current boot entry in place (no swap), as
 * ostree_sysroot_deployment_set_kargs_in_place does.
 */
export async function setKargsInPlace(sysroot: Sysroot, d: Deployment, kargs: KernelArgs): Promise<void> {
  await sysroot.ensureWriteLock();
  if (d.staged && sysroot.stagedState) {
    // A staged deployment has no boot entry yet: its state file carries the arguments.
    const state = { ...sysroot.stagedState, kargs: kargs.toArgv() };
    await writeFileAtomic(sysroot.fs, stagedPath(sysroot), encodeStagedState(state), { mode: 0o644, fsync: true });
    sysroot.stagedState = state;
    d.bootconfig.set('options', kargs.toString());
    return;
  }
  const entriesDir = sysroot.abs(`boot/loader.${sysroot.bootversion}/entries`);
  const k = sysroot.deployments.length - d.index;
  const name = joinPath(entriesDir, `ostree-${k}-${d.osname}.conf`);
  const bc = d.bootconfig.clone();
  const withOstree = kargs.clone();
  const cur = KernelArgs.parse(bc.get('options') ?? '').get('ostree');
  if (typeof cur === 'string') withOstree.replace(`ostree=${cur}`);
  bc.set('options', withOstree.toString());
  await writeTextAtomic(sysroot.fs, name, bc.toString());
  d.bootconfig = bc;
}

/** `kargs edit-in-place --append-if-missing=…` for every deployment. */
export async function appendKargsIfMissingInPlace(sysroot: Sysroot, args: string[]): Promise<void> {
  await sysroot.ensureWriteLock();
  for (const d of sysroot.deployments) {
    const k = KernelArgs.parse(d.bootconfig.get('options') ?? '');
    for (const a of args) k.appendIfMissing(a);
    await setKargsInPlace(sysroot, d, k);
  }
}

/** What the administrator changed in a deployment's /etc against its usr/etc defaults. */
export async function configDiff(sysroot: Sysroot, d: Deployment): Promise<EtcDiff> {
  const root = sysroot.deploymentPath(d);
  return diffDirs(sysroot.fs, joinPath(root, 'usr/etc'), joinPath(root, 'etc'));
}

/**
 * `set-origin REMOTE URL [BRANCH]`: adds the remote when missing and points the deployment's
 * origin at REMOTE:BRANCH (the current branch by default).
 */
export async function setOrigin(
  sysroot: Sysroot,
  d: Deployment,
  remote: string,
  url: string,
  branch: string | null,
  remoteOptions: RemoteOptions = [],
): Promise<void> {
  await sysroot.ensureWriteLock();
  const repo = await sysroot.repo();
  await addRemote(repo, remote, url, { ifNotExists: true, options: remoteOptions });
  const origin = copyOrigin(d);
  let ref = branch;
  if (ref === null) {
    const cur = origin.get('origin', 'refspec');
    if (!cur) throw new XylemError('No origin/refspec in current deployment origin; cannot change ref');
    ref = parseRefspec(cur).ref;
  }
  origin.set('origin', 'refspec', `${remote}:${ref}`);
  await writeOrigin(sysroot, d, origin);
}

/**
 * Gives the deployment at `index` new kernel arguments through a boot-set swap (libostree's
 * ostree_sysroot_deployment_set_kargs, used by `instutil set-kargs`).
 */
export async function setKargs(sysroot: Sysroot, index: number, kargs: KernelArgs, out?: (l: string) => void): Promise<WriteResult> {
  await sysroot.ensureWriteLock();
  const target = deploymentAt(sysroot, index);
  const bc = target.bootconfig.clone();
  bc.set('options', kargs.toString());
  const copy: Deployment = { ...target, bootconfig: bc };
  const list = sysroot.deployments.map((d) => (d === target ? copy : d));
  return writeDeployments(sysroot, list, { out });
}
