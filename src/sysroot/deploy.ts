// Creating a deployment (libostree's deploy_tree): a hardlink checkout of the commit into
// ostree/deploy/OS/deploy/CSUM.SERIAL, /etc made from usr/etc plus the merge deployment's local
// changes, the .origin file, the stateroot's /var stamp, the kernel located and its boot
// checksum computed, and the kernel arguments chosen. Nothing boots it until the new deployment
// list is written (write.ts), so a crash here leaves only an unreferenced folder for cleanup.

import { KeyFile } from '../format/keyfile.ts';
import { checkout } from '../repo/checkout.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { BootConfig } from './bootconfig.ts';
import { type Deployment, validateOsname } from './deployment.ts';
import { applyEtcDiff, diffDirs, type EtcMergeSkip } from './etc-merge.ts';
import { copyEntry, ensureDir, writeTextAtomic } from './fsutil.ts';
import { computeBootcsum, findKernel } from './kernel.ts';
import { validateKarg } from './kargs.ts';
import { checkBootSpace } from './space.ts';
import { checkOverlaysAvailable } from './overlay-initrd.ts';
import { removeDeploymentFiles, sealDeployment } from './seal.ts';
import { osReleaseTitle, readOsRelease } from './os-release.ts';
import type { Sysroot } from './sysroot.ts';

export interface DeployTreeOptions {
  osname: string;
  /** Commit checksum to deploy. */
  revision: string;
  /** The .origin contents (null: no origin file). */
  origin: KeyFile | null;
  /** Where /etc changes and (without overrideKargs) kernel arguments come from. */
  mergeDeployment: Deployment | null;
  /** Kernel arguments replacing the merge deployment's. */
  overrideKargs?: string[] | null;
  /** Checksums of staged overlay initrds (stageOverlayInitrd) the deployment boots with. */
  overlayInitrds?: string[] | null;
  /** Progress lines ("Copying /etc changes: …"). */
  out?: (line: string) => void;
  /** Warnings (a local /etc change not merged, and why); default: `out`. */
  warn?: (line: string) => void;
}

const CHECKSUM_RE = /^[0-9a-f]{64}$/;

/** The next free deployment serial for `csum` in `osname` (one past the highest on disk). */
async function allocateDeployserial(sysroot: Sysroot, osname: string, csum: string): Promise<number> {
  let next = 0;
  for (const d of await sysroot.listDeploymentDirs()) if (d.osname === osname && d.csum === csum) next = Math.max(next, d.deployserial + 1);
  return next;
}

/** A copy of `origin` without the transient state (pinning) of the deployment it came from. */
export function cleanOrigin(origin: KeyFile | null): KeyFile | null {
  if (!origin) return null;
  const copy = KeyFile.parse(origin.toString());
  copy.removeGroup('libostree-transient');
  return copy;
}

/** Builds /etc of a fresh checkout at `root` from usr/etc (or the legacy layout with only etc/). */
async function prepareEtc(sysroot: Sysroot, root: string): Promise<boolean> {
  const fs = sysroot.fs;
  const usrEtc = joinPath(root, 'usr/etc');
  const etc = joinPath(root, 'etc');
  const [u, e] = await Promise.all([fs.lstat(usrEtc), fs.lstat(etc)]);
  const copyOpts = { xattrs: !sysroot.debug.noXattrs };
  if (u) {
    if (e) throw new XylemError('Tree contains both /etc and /usr/etc');
    await copyEntry(fs, usrEtc, etc, copyOpts);
    return true;
  }
  if (e) {
    // Old trees: etc/ is the defaults; move it to usr/etc and work on a copy.
    await fs.rename(etc, usrEtc);
    await copyEntry(fs, usrEtc, etc, copyOpts);
    return true;
  }
  return false;
}

/**
 * The first half of a deployment (libostree's sysroot_initialize_deployment): the checkout,
 * /etc from usr/etc, the kernel and its boot checksum, the origin file, and the kernel arguments
 * only when overridden. A staged deployment stops here until finalizeDeployment.
 */
export async function initializeDeployment(sysroot: Sysroot, opts: Omit<DeployTreeOptions, 'mergeDeployment'>): Promise<Deployment> {
  await sysroot.ensureWriteLock();
  validateOsname(opts.osname);
  if (!CHECKSUM_RE.test(opts.revision)) throw new XylemError(`Invalid commit checksum '${opts.revision}'`);
  // Refused before anything is written: one of them would otherwise corrupt the BLS entry.
  if (opts.overrideKargs) for (const a of opts.overrideKargs) validateKarg(a);
  if (opts.overlayInitrds) await checkOverlaysAvailable(sysroot, opts.overlayInitrds);
  const fs = sysroot.fs;
  const stateroot = sysroot.abs(`ostree/deploy/${opts.osname}`);
  if (!(await fs.stat(stateroot))) throw new XylemError(`No such stateroot '${opts.osname}': opendir(ostree/deploy/${opts.osname}): No such file or directory`);
  await ensureDir(fs, joinPath(stateroot, 'deploy'));
  const repo = await sysroot.repo();
  await repo.loadCommit(opts.revision);
  if (await repo.isCommitPartial(opts.revision)) throw new XylemError(`Commit ${opts.revision} is partial, cannot deploy it`);

  const deployserial = await allocateDeployserial(sysroot, opts.osname, opts.revision);
  const ident = { osname: opts.osname, csum: opts.revision, deployserial };
  const root = sysroot.deploymentPath(ident);
  try {
    await fs.rmrf(root);
    await checkout(repo, opts.revision, root, { noXattrs: sysroot.debug.noXattrs, processPassthroughWhiteouts: true });
    await prepareEtc(sysroot, root);

    const layout = await findKernel(fs, root, { noDtb: sysroot.debug.noDtb });
    const bootcsum = layout.bootcsum ?? (await computeBootcsum(fs, root, layout, repo.createSha256()));
    // libostree refuses these only when it writes the boot entry; nothing needs to be written first.
    osReleaseTitle(await readOsRelease(fs, root));
    // Refuse now, before anything names this deployment, if its kernel would not fit in /boot.
    await checkBootSpace(sysroot, [{ osname: opts.osname, bootcsum, root }]);

    const origin = cleanOrigin(opts.origin);
    if (origin) await writeTextAtomic(fs, sysroot.originPath(ident), origin.toString());

    const bootconfig = new BootConfig();
    if (opts.overrideKargs) bootconfig.set('options', opts.overrideKargs.join(' '));
    const d: Deployment = { index: -1, ...ident, bootcsum, bootserial: 0, bootconfig, origin };
    if (opts.overlayInitrds && opts.overlayInitrds.length) d.overlayInitrds = [...opts.overlayInitrds];
    return d;
  } catch (e) {
    // Nothing names this serial yet: a failed deployment leaves no folder behind.
    await discardFailedDeployment(sysroot, ident);
    throw e;
  }
}

/**
 * Removes the files of a deployment whose creation failed, unless something uses it after all
 * (it is in the boot set, booted or staged). Its own failure is not the caller's error.
 */
export async function discardFailedDeployment(sysroot: Sysroot, d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): Promise<void> {
  const inUse = (x: Deployment | null) => x !== null && x.osname === d.osname && x.csum === d.csum && x.deployserial === d.deployserial;
  if (sysroot.deployments.some(inUse) || inUse(sysroot.booted) || inUse(sysroot.staged)) return;
  await removeDeploymentFiles(sysroot, d).catch(() => undefined);
}

/**
 * The second half (libostree's sysroot_finalize_deployment): kernel arguments from the merge
 * deployment unless set, the /etc merge — taken now, so a staged deployment gets the
 * administrator's changes up to finalization — the systemd update stamps and /var's label stamp.
 */
export async function finalizeDeployment(
  sysroot: Sysroot,
  d: Deployment,
  merge: Deployment | null,
  out: (line: string) => void = () => undefined,
  warn: (line: string) => void = out,
): Promise<EtcMergeSkip[]> {
  await sysroot.ensureWriteLock();
  const fs = sysroot.fs;
  const root = sysroot.deploymentPath(d);
  if (merge && d.bootconfig.get('options') === undefined) d.bootconfig.set('options', merge.bootconfig.get('options') ?? '');
  if (d.bootconfig.get('options') === undefined) d.bootconfig.set('options', '');
  const hasEtc = (await fs.lstat(joinPath(root, 'etc')))?.kind === 'dir';
  let skipped: EtcMergeSkip[] = [];
  if (merge && hasEtc) {
    const mroot = sysroot.deploymentPath(merge);
    const [mu, me] = await Promise.all([fs.lstat(joinPath(mroot, 'usr/etc')), fs.lstat(joinPath(mroot, 'etc'))]);
    if (mu?.kind === 'dir' && me?.kind === 'dir') {
      const diff = await diffDirs(fs, joinPath(mroot, 'usr/etc'), joinPath(mroot, 'etc'));
      out(`Copying /etc changes: ${diff.modified.length} modified, ${diff.removed.length} removed, ${diff.added.length} added`);
      skipped = await applyEtcDiff(fs, diff, joinPath(mroot, 'etc'), joinPath(root, 'etc'), { xattrs: !sysroot.debug.noXattrs });
      for (const s of skipped) warn(`warning: /etc/${s.path} not merged: ${s.reason}`);
    }
  }

  // systemd's ConditionNeedsUpdate= compares these stamps with /usr: a new tree must look updated.
  if (hasEtc) await fs.rmrf(joinPath(root, 'etc/.updated'));
  await fs.rmrf(sysroot.abs(`ostree/deploy/${d.osname}/var/.updated`));

  // The stateroot's /var is labelled once (no SELinux policy here: the stamp is what remains).
  const stamp = sysroot.abs(`ostree/deploy/${d.osname}/var/.ostree-selabeled`);
  if (!(await fs.lstat(stamp)) && (await fs.stat(sysroot.abs(`ostree/deploy/${d.osname}/var`)))) {
    out("Relabeling /var (no stamp file 'var/.ostree-selabeled' found)");
    await writeTextAtomic(fs, stamp, '', 0o644);
  }
  // Seal it (unless OSTREE_SYSROOT_DEBUG=mutable-deployments), as libostree.
  await sealDeployment(sysroot, d);
  return skipped;
}

/** Creates the deployment (not yet bootable: see writeDeployments). */
export async function deployTree(sysroot: Sysroot, opts: DeployTreeOptions): Promise<Deployment> {
  const d = await initializeDeployment(sysroot, opts);
  try {
    await finalizeDeployment(sysroot, d, opts.mergeDeployment, opts.out, opts.warn ?? opts.out);
  } catch (e) {
    await discardFailedDeployment(sysroot, d);
    throw e;
  }
  return d;
}
