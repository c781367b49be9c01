// `rpm-ostree apply-live` (rust/src/live.rs transaction_apply_live) on a booted Xylem system:
// the changes from the booted commit (or the last live one) to a target commit — by default the
// pending deployment's — are copied into a transient overlayfs on /usr, so they show at once
// without a reboot; the pending deployment already holds them for the next boot. Only package
// additions unless `allowReplacement` (rpm-ostree's package-level check, here also naming the
// packages; between commits without an rpmdb, changed or removed files are refused, named).
// /etc: new, changed and removed default files are carried over unless the administrator
// changed that path (config diff /usr/etc ↔ /etc). The live state (stamp + refs,
// live-state.ts) records the target as in progress first and as live at the end, so an
// interrupted apply is seen (InterruptedLiveCommit) and a re-run with the same target finishes it.
// Not done (rpm-ostree does them through systemd units): systemd-tmpfiles for /var, SELinux
// labels of /etc files.

import { checkout } from '../repo/checkout.ts';
import { resolveRev } from '../repo/refs.ts';
import type { Repo } from '../repo/repo.ts';
import { dbDiff } from '../compose/db.ts';
import type { PackageDiff } from '../compose/dbdiff.ts';
import { formatNevra } from '../rpm/types.ts';
import { diffDirs } from '../sysroot/etc-merge.ts';
import type { Deployment } from '../sysroot/deployment.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import { deploymentUnlockedState, remountTransientOverlay, requireBooted, unlockDeployment, USR_MOUNTPOINT } from '../sysroot/unlock.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { randomSuffix } from '../util/atomic-write.ts';
import { diffCommitSubdir, formatFileTreeDiff, type FileTreeDiff } from './live-diff.ts';
import { readLiveState, writeLiveState, type LiveApplyState } from './live-state.ts';

export interface ApplyLiveOptions {
  /** Commit or ref to make live (default: the pending deployment's commit). */
  target?: string;
  /** Go back to the booted commit's content (rpm-ostree: target = booted commit). */
  reset?: boolean;
  /** Allow package removals and changes (default: additions only). */
  allowReplacement?: boolean;
  /** The running system's root (default '/'); its usr/ must be the overlay mounted at /usr. */
  root?: string;
  out?: (line: string) => void;
  /** Called between steps (tests: crash points, cancellation). */
  checkpoint?: (step: string) => Promise<void>;
}

export interface LivePlan {
  booted: Deployment;
  source: string;
  target: string;
  state: LiveApplyState | null;
  diff: FileTreeDiff;
  packages: PackageDiff;
}

export interface ApplyLiveResult extends LivePlan {
  changed: boolean;
}

/** rpm-ostree's "N upgraded, N downgraded, N removed, N added" (zero counts left out). */
export function diffSummary(p: PackageDiff): string {
  const parts: string[] = [];
  for (const [n, what] of [
    [p.upgraded.length, 'upgraded'],
    [p.downgraded.length, 'downgraded'],
    [p.removed.length, 'removed'],
    [p.added.length, 'added'],
  ] as Array<[number, string]>)
    if (n > 0) parts.push(`${n} ${what}`);
  return parts.join(', ');
}

/** Works out what an apply would do (nothing is changed); refusals are rpm-ostree's. */
export async function planApplyLive(sysroot: Sysroot, repo: Repo, opts: ApplyLiveOptions = {}): Promise<LivePlan> {
  const booted = requireBooted(sysroot);
  if (opts.reset && opts.target !== undefined) throw new XylemError('Cannot specify both --target and --reset', 'EINVAL');
  let target: string;
  if (opts.reset) target = booted.csum;
  else if (opts.target !== undefined) {
    if (typeof opts.target !== 'string' || opts.target === '') throw new XylemError('apply-live: empty --target', 'EINVAL');
    target = (await resolveRev(repo, opts.target))!;
  } else {
    const { pending } = sysroot.queryDeploymentsFor(booted.osname);
    if (!pending) throw new XylemError('No target commit specified and no pending deployment', 'ENOPENDING');
    target = pending.csum;
  }
  const state = await readLiveState(sysroot, repo, booted);
  if (state?.inprogress && state.inprogress !== target)
    throw new XylemError(`Previously interrupted while targeting commit ${state.inprogress}, cannot change target to ${target}`, 'ELIVEINPROGRESS');
  const source = state?.commit || booted.csum;
  const diff = await diffCommitSubdir(repo, source, target, '/usr');
  // Commits without an rpmdb: no package-level view, so every changed or removed file is a replacement.
  const packages = await dbDiff(repo, source, target).then(
    (r) => r.diff,
    () => null,
  );
  if (packages === null) {
    const replaced = [...diff.changedFiles, ...diff.removedFiles, ...diff.removedDirs];
    if (!opts.allowReplacement && replaced.length > 0)
      throw new XylemError(`files would be changed or removed: ${replaced.length}, allow replacement to override (${replaced.slice(0, 10).join(', ')}${replaced.length > 10 ? ', …' : ''})`, 'EREPLACE');
    if (diff.changedDirs.length > 0) throw new XylemError(`Changed directories are not supported yet: ${diff.changedDirs.join(', ')}`, 'ENOTSUP');
    return { booted, source, target, state, diff, packages: { added: [], removed: [], upgraded: [], downgraded: [] } };
  }
  if (!opts.allowReplacement) {
    if (packages.removed.length > 0)
      throw new XylemError(`packages would be removed: ${packages.removed.length}, allow replacement to override (${packages.removed.map(formatNevra).join(', ')})`, 'EREPLACE');
    const changed = [...packages.upgraded, ...packages.downgraded];
    if (changed.length > 0)
      throw new XylemError(`packages would be changed: ${changed.length}, allow replacement to override (${changed.map(([o, n]) => `${formatNevra(o)} -> ${formatNevra(n)}`).join(', ')})`, 'EREPLACE');
  }
  if (diff.changedDirs.length > 0) throw new XylemError(`Changed directories are not supported yet: ${diff.changedDirs.join(', ')}`, 'ENOTSUP');
  return { booted, source, target, state, diff, packages };
}

/** A path of the commit checked out at `dest` (a folder: the entry itself; a file: into dest's parent). */
async function checkoutEntry(repo: Repo, commit: string, subpath: string, dest: string, isDir: boolean): Promise<void> {
  const into = isDir ? dest : dest.slice(0, dest.lastIndexOf('/')) || '/';
  await checkout(repo, commit, into, { subpath, overwrite: 'union-files', forceCopy: true });
}

/** Applies the /usr diff to the merged /usr (rpm-ostree's apply_diff; removals first, for type changes). */
async function applyUsr(sysroot: Sysroot, repo: Repo, plan: LivePlan, root: string): Promise<void> {
  const fs = sysroot.fs;
  const d = plan.diff;
  for (const p of [...d.removedFiles, ...d.removedDirs]) await fs.rmrf(joinPath(root, p));
  for (const p of d.addedDirs) await checkoutEntry(repo, plan.target, p, joinPath(root, p), true);
  for (const p of [...d.addedFiles, ...d.changedFiles]) await checkoutEntry(repo, plan.target, p, joinPath(root, p), false);
}

/** /etc: the default files' changes, except where the administrator changed the path (update_etc). */
/**
 * What the administrator changed in /etc: the source commit's usr/etc ↔ etc (rpm-ostree takes the
 * live usr/etc before updating it; the source commit is that, and stays right when an interrupted
 * apply is re-run over a half-updated /usr). Null without /etc.
 */
async function localEtcChanges(sysroot: Sysroot, repo: Repo, plan: LivePlan, root: string): Promise<Set<string> | null> {
  const etc = joinPath(root, 'etc');
  if ((await sysroot.fs.lstat(etc).catch(() => null))?.kind !== 'dir') return null;
  const defaults = joinPath(repo.path, 'tmp', `xylem-live-etc-${randomSuffix()}`);
  try {
    await checkout(repo, plan.source, defaults, { subpath: '/usr/etc', forceCopy: true }).catch(async () => sysroot.fs.mkdir(defaults, { recursive: true, mode: 0o755 }));
    const local = await diffDirs(sysroot.fs, defaults, etc);
    return new Set([...local.modified, ...local.removed, ...local.added]);
  } finally {
    await sysroot.fs.rmrf(defaults).catch(() => undefined);
  }
}

async function applyEtc(sysroot: Sysroot, repo: Repo, plan: LivePlan, root: string, touched: Set<string> | null): Promise<void> {
  const fs = sysroot.fs;
  const etc = joinPath(root, 'etc');
  if (touched === null) return;
  // A path is left alone when it, or a folder above it, was changed locally.
  const etcRel = (p: string): string | null => {
    if (!p.startsWith('/usr/etc/')) return null;
    const rel = p.slice('/usr/etc/'.length);
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) if (touched.has(parts.slice(0, i).join('/'))) return null;
    return rel;
  };
  const d = plan.diff;
  for (const p of [...d.removedFiles, ...d.removedDirs]) {
    const rel = etcRel(p);
    if (rel !== null) await fs.rmrf(joinPath(etc, rel));
  }
  for (const p of d.addedDirs) {
    const rel = etcRel(p);
    if (rel !== null) await checkoutEntry(repo, plan.target, p, joinPath(etc, rel), true);
  }
  for (const p of [...d.addedFiles, ...d.changedFiles]) {
    const rel = etcRel(p);
    if (rel === null) continue;
    const parent = joinPath(etc, rel.split('/').slice(0, -1).join('/'));
    if ((await fs.lstat(parent).catch(() => null))?.kind !== 'dir') continue;
    await checkoutEntry(repo, plan.target, p, joinPath(etc, rel), false);
  }
}

/**
 * Applies `plan`'s target live (see the file header). The caller holds the sysroot lock. The
 * booted deployment is unlocked --transient first when it is not unlocked; a hotfix unlock is
 * refused. /usr is made writable for the copy and read-only again afterwards when it was.
 */
export async function applyLive(sysroot: Sysroot, opts: ApplyLiveOptions = {}): Promise<ApplyLiveResult> {
  const out = opts.out ?? (() => undefined);
  const step = async (s: string) => {
    if (opts.checkpoint) await opts.checkpoint(s);
  };
  const repo = await sysroot.repo();
  const root = opts.root ?? '/';
  const plan = await planApplyLive(sysroot, repo, opts);
  const { booted } = plan;
  const mounts = sysroot.host.mounts;
  if (!mounts) throw new XylemError('This runtime cannot mount file systems (no Host.mounts): cannot apply changes live', 'ENOSYS');
  const unlocked = await deploymentUnlockedState(sysroot, booted);
  if (unlocked === 'none') {
    if (plan.state) throw new XylemError(`deployment not unlocked, is in state: ${unlocked}`, 'EUNLOCKED');
    await unlockDeployment(sysroot, booted, 'transient');
  } else if (unlocked !== 'transient' && unlocked !== 'development') {
    throw new XylemError(`apply-live is incompatible with unlock state: ${unlocked}`, 'EUNLOCKED');
  }
  // The overlay must be there before anything is written under /usr (never the lower tree).
  if (!(await remountTransientOverlay(sysroot, booted, unlocked === 'transient' || unlocked === 'none')))
    throw new XylemError(`${USR_MOUNTPOINT} is not the overlay of an unlocked deployment, and its overlay folders are gone: refusing to write into it`, 'ENOTOVERLAY');
  const info = await mounts.info(USR_MOUNTPOINT);
  if (info?.fstype !== 'overlay') throw new XylemError(`${USR_MOUNTPOINT} is not an overlay mount: refusing to write into it`, 'ENOTOVERLAY');
  out(`Computed /usr diff: ${formatFileTreeDiff(plan.diff)}`);
  out(`Computed pkg diff: ${plan.packages.added.length} added, ${plan.packages.upgraded.length + plan.packages.downgraded.length} changed, ${plan.packages.removed.length} removed`);
  const wasReadOnly = info.readOnly;
  if (wasReadOnly) await mounts.remount(USR_MOUNTPOINT, false);
  try {
    const state: LiveApplyState = { commit: plan.state?.commit ?? '', inprogress: plan.target };
    await writeLiveState(sysroot, repo, booted, state);
    await step('live-inprogress');
    const touched = await localEtcChanges(sysroot, repo, plan, root);
    await applyUsr(sysroot, repo, plan, root);
    await step('live-usr');
    await applyEtc(sysroot, repo, plan, root, touched);
    await step('live-etc');
    await writeLiveState(sysroot, repo, booted, { commit: plan.target, inprogress: '' });
  } finally {
    if (wasReadOnly) await mounts.remount(USR_MOUNTPOINT, true).catch(() => undefined);
  }
  const p = plan.packages;
  if (p.added.length) out(`Added:\n${p.added.map((n) => `  ${formatNevra(n)}`).join('\n')}`);
  if (p.removed.length) out(`Removed:\n${p.removed.map((n) => `  ${formatNevra(n)}`).join('\n')}`);
  const changed = [...p.upgraded, ...p.downgraded];
  if (changed.length) out(`Changed:\n${changed.map(([o, n]) => `  ${o.name} ${formatNevra(o).slice(o.name.length + 1)} -> ${formatNevra(n).slice(n.name.length + 1)}`).join('\n')}`);
  out(p.removed.length === 0 && changed.length === 0 ? 'Successfully updated running filesystem tree.' : 'Successfully updated running filesystem tree; Following services may need to be restarted:');
  return { ...plan, changed: true };
}
