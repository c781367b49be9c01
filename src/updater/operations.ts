// The host transactions behind rpm-xylem's mutating verbs, as rpm-ostree's daemon runs them, on
// top of the sysroot library: upgrade (also --check/--preview/--download-only), deploy REVISION,
// rebase, rollback, cleanup, kargs and reset. Each one checks its CancelToken between phases;
// the deployment list is published in one atomic swap (writeDeployments) after the last
// cancellation point, and a deployment folder made before a cancellation is removed again, so a
// cancelled transaction leaves the sysroot as it found it (the repo may keep fetched objects).

import { KeyFile } from '../format/keyfile.ts';
import { pull } from '../pull/pull.ts';
import type { PullOptions } from '../pull/options.ts';
import { formatPullProgressLine } from '../pull/progress.ts';
import { parseRefspec, refPath, resolveRev } from '../repo/refs.ts';
import { remoteBooleanOption } from '../remote/config.ts';
import type { Repo } from '../repo/repo.ts';
import { formatSize } from '../util/format-size.ts';
import { deployTree } from '../sysroot/deploy.ts';
import { stageTree } from '../sysroot/staged.ts';
import { type Deployment, deploymentsEqual, isPinned, originOverrideCommit, originRelPath } from '../sysroot/deployment.ts';
import { KernelArgs } from '../sysroot/kargs.ts';
import { removeDeploymentFiles } from '../sysroot/seal.ts';
import { simpleWriteDeployment, writeDeployments } from '../sysroot/write.ts';
import { cleanupSysroot } from '../sysroot/cleanup.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import { commitStringMeta } from '../sysroot/sysroot.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import type { CancelToken } from './cancel.ts';
import { checkForUpdate, type UpdateCheck } from './preview.ts';

const CHECKSUM_RE = /^[0-9a-f]{64}$/;

export interface TxnContext {
  sysroot: Sysroot;
  token: CancelToken;
  /** Transaction log lines (rpm-ostree's messages). */
  out: (line: string) => void;
  /** Phase changes and progress text, for `status` in other processes. */
  progress: (phase: string, text?: string) => void;
  /** Stateroot (--os); default: the booted one, else the only one. */
  osname?: string | null;
  /**
   * Called on entering each phase ("pulling", "deploying", "finalizing", "cleaning"): a
   * cancellation point the owner may also use to pause (test hooks). Default: a token check.
   */
  checkpoint?: (phase: string) => Promise<void>;
}

/** Enters a phase: reports it and runs the owner's checkpoint (a cancellation point). */
async function enter(ctx: TxnContext, phase: string, text: string): Promise<void> {
  ctx.progress(phase, text);
  ctx.token.throwIfCancelled();
  if (ctx.checkpoint) await ctx.checkpoint(phase);
  ctx.token.throwIfCancelled();
}

/** What a transaction did; `changed` false maps to exit 77 with --unchanged-exit-77. */
export interface TxnResult {
  changed: boolean;
  deployment?: Deployment | null;
  check?: UpdateCheck | null;
}

/** The stateroot to act on: --os, else the booted deployment's, else the only one on disk. */
export async function resolveOsname(sysroot: Sysroot, osname: string | null | undefined): Promise<string> {
  if (osname) {
    if (!(await sysroot.listStateroots()).includes(osname)) throw new XylemError(`No stateroot '${osname}' in this sysroot`);
    return osname;
  }
  if (sysroot.booted) return sysroot.booted.osname;
  const roots = await sysroot.listStateroots();
  if (roots.length === 1) return roots[0]!;
  throw new XylemError('Not currently booted into an OSTree system and no --os= argument given');
}

/** rpm-ostree's "origin merge deployment": the first (newest) deployment of the stateroot. */
function originMerge(sysroot: Sysroot, osname: string): Deployment {
  const d = sysroot.deployments.find((x) => x.osname === osname);
  if (!d) throw new XylemError(`No deployments found for OS '${osname}'`);
  return d;
}

/** The deployment standing for "booted": the booted one, else the stateroot's default. */
function anchor(sysroot: Sysroot, osname: string): Deployment | null {
  if (sysroot.booted) return sysroot.booted;
  return sysroot.deployments.find((x) => x.osname === osname) ?? null;
}

function copyOrigin(o: KeyFile | null): KeyFile {
  return o ? KeyFile.parse(o.toString()) : new KeyFile();
}

/** A copy of the merge deployment's origin; a corrupt override-commit fails, naming the file. */
function mergeOrigin(sysroot: Sysroot, om: Deployment): KeyFile {
  if (om.origin) originOverrideCommit(om.origin, sysroot.abs(originRelPath(om)));
  return copyOrigin(om.origin);
}

function originRefspecOf(origin: KeyFile): string {
  const r = origin.get('origin', 'refspec') ?? origin.get('origin', 'baserefspec');
  if (!r) throw new XylemError('No origin/refspec in current deployment origin; cannot upgrade via ostree');
  return r;
}

/** Pulls REMOTE:REF (optionally pinned to a commit) with progress reported to the context. */
export async function pullRef(ctx: TxnContext, refspec: string, pinned: string | null, timestampCheck: boolean, extra: Partial<PullOptions> = {}): Promise<void> {
  const { remote, ref } = parseRefspec(refspec);
  if (remote === null) return; // a local ref: nothing to fetch
  const repo = await ctx.sysroot.repo();
  await enter(ctx, 'pulling', refspec);
  const r = await pull(repo, remote, {
    ...extra,
    refs: [pinned ? `${ref}@${pinned}` : ref],
    timestampCheck,
    updateFrequencyMs: 200,
    onProgress: (p) => ctx.progress('pulling', formatPullProgressLine(p, ctx.sysroot.host.now?.() ?? Date.now())),
  });
  ctx.token.throwIfCancelled();
  if (r.status && !extra.commitMetadataOnly) ctx.out(r.status);
}

function isoTime(ts: bigint): string {
  return new Date(Number(ts) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function refuseDowngrade(repo: Repo, from: string, to: string): Promise<void> {
  const [cur, next] = await Promise.all([repo.loadCommit(from).catch(() => null), repo.loadCommit(to)]);
  if (cur && next.timestamp < cur.timestamp)
    throw new XylemError(
      `Upgrade target revision '${to}' with timestamp '${isoTime(next.timestamp)}' is chronologically older than ` +
        `current revision '${from}' with timestamp '${isoTime(cur.timestamp)}'; use --allow-downgrade to permit`,
    );
}

export interface DeployNewOptions {
  osname: string;
  revision: string;
  origin: KeyFile;
  /** Kernel arguments for the new deployment (default: the merge deployment's). */
  kargs?: string[] | null;
  /**
   * Stage it (finalized at shutdown) when this is the running system, as rpm-ostree's upgrade,
   * deploy and rebase do; elsewhere the boot set is written at once.
   */
  stage?: boolean;
  /** With staging: finalize-staged leaves it alone until the lock file goes (--lock-finalization). */
  lockFinalization?: boolean;
  /**
   * Checksums of staged overlay initrds (sysroot/overlay-initrd.ts) for the new deployment. Left
   * out: an origin that tracks /etc files (`[rpmostree] initramfs-etc`) keeps the overlays of the
   * deployment it was taken from (kargs, deploy, upgrade of the base keep the /etc overlay; the
   * layering verbs rebuild it).
   */
  overlayInitrds?: string[] | null;
  /** Where inherited overlays come from (default: the merge deployment). */
  overlaysFrom?: Deployment | null;
}

/** The overlays a new deployment inherits when the caller names none (see DeployNewOptions). */
function inheritedOverlays(sysroot: Sysroot, o: DeployNewOptions, from: Deployment | null): string[] | null {
  if (o.overlayInitrds !== undefined) return o.overlayInitrds;
  let tracked: string[] = [];
  try {
    tracked = o.origin.getStringList('rpmostree', 'initramfs-etc') ?? [];
  } catch {
    tracked = [];
  }
  if (tracked.filter((x) => x !== '').length === 0) return null;
  const src = from ?? sysroot.mergeDeployment(o.osname);
  return src?.overlayInitrds?.length ? [...src.overlayInitrds] : null;
}

/** Whether a deployment made now is staged: the sysroot is the running system, booted as found. */
export function stagesDeployments(sysroot: Sysroot): boolean {
  return sysroot.runningDeployment !== null && deploymentsEqual(sysroot.booted, sysroot.runningDeployment);
}

/**
 * Creates and publishes a deployment: checkout + /etc merge (cancellable before), then the
 * atomic boot-set swap (the commit point). A cancellation before the swap removes the new folder.
 */
export async function deployNew(ctx: TxnContext, o: DeployNewOptions): Promise<Deployment> {
  const { sysroot } = ctx;
  const merge = sysroot.mergeDeployment(o.osname);
  const stage = o.stage === true && stagesDeployments(sysroot);
  const overlays = inheritedOverlays(sysroot, o, o.overlaysFrom ?? null);
  if (o.lockFinalization && !stage) throw new XylemError('--lock-finalization needs a staged deployment: this is not the booted system');
  await enter(ctx, 'deploying', `checking out ${o.revision.slice(0, 10)}`);
  if (stage) {
    // The /etc merge and the boot set wait for shutdown (ostree-finalize-staged).
    ctx.out(`Checking out tree ${o.revision.slice(0, 7)}... done`);
    const d = await stageTree(sysroot, {
      osname: o.osname,
      revision: o.revision,
      origin: o.origin,
      mergeDeployment: merge,
      overrideKargs: o.kargs ?? null,
      overlayInitrds: overlays,
      lockFinalization: o.lockFinalization === true,
      out: ctx.out,
    });
    ctx.out('Staging deployment... done');
    return d;
  }
  ctx.out(`Checking out tree ${o.revision.slice(0, 7)}... done`);
  const d = await deployTree(sysroot, {
    osname: o.osname,
    revision: o.revision,
    origin: o.origin,
    mergeDeployment: merge,
    overrideKargs: o.kargs ?? null,
    overlayInitrds: overlays,
    out: ctx.out,
  });
  try {
    await enter(ctx, 'finalizing', 'writing the boot configuration');
  } catch (e) {
    // Not published yet: nothing references the folder; take it away again.
    await removeDeploymentFiles(sysroot, d);
    throw e;
  }
  await simpleWriteDeployment(sysroot, o.osname, d, merge, { out: ctx.out });
  return d;
}

export interface UpgradeOptions {
  allowDowngrade?: boolean;
  /** Stage with the finalization lock (needs the running system; see DeployNewOptions). */
  lockFinalization?: boolean;
  downloadOnly?: boolean;
  check?: boolean;
  preview?: boolean;
}

/** `upgrade`: pull the origin's ref and deploy it when it moved (see UpgradeOptions). */
export async function upgradeTxn(ctx: TxnContext, opts: UpgradeOptions = {}): Promise<TxnResult> {
  const { sysroot } = ctx;
  const osname = await resolveOsname(sysroot, ctx.osname);
  const om = originMerge(sysroot, osname);
  const origin = mergeOrigin(sysroot, om);
  const refspec = originRefspecOf(origin);
  const repo = await sysroot.repo();
  if (CHECKSUM_RE.test(refspec)) {
    ctx.out('Pinned to commit; no upgrade available');
    return { changed: false };
  }
  if (opts.check || opts.preview) {
    const { remote, ref } = parseRefspec(refspec);
    if (remote === null) {
      const tip = (await resolveRev(repo, refspec))!;
      if (tip === om.csum) return { changed: false, check: null };
      throw new XylemError('--check and --preview need a remote refspec');
    }
    ctx.progress('checking', refspec);
    const gpg = await remoteBooleanOption(repo, remote, 'gpg-verify', true);
    const c = await checkForUpdate(repo, remote, ref, om.csum, { preview: !!opts.preview, gpg });
    ctx.token.throwIfCancelled();
    return { changed: c.checksum !== om.csum, check: c.checksum !== om.csum ? c : null };
  }
  ctx.out(`Updating from: ${refspec}`);
  // A plain upgrade drops a `deploy` pin (override-commit), as rpm-ostree does.
  const hadOverride = origin.remove('origin', 'override-commit');
  await pullRef(ctx, refspec, null, !opts.allowDowngrade);
  const revision = (await resolveRev(repo, refspec))!;
  if (revision === om.csum && !hadOverride) {
    ctx.out('No upgrade available.');
    return { changed: false };
  }
  if (opts.downloadOnly) {
    ctx.out('Update downloaded.');
    return { changed: false };
  }
  if (!opts.allowDowngrade) await refuseDowngrade(repo, om.csum, revision);
  const d = await deployNew(ctx, { osname, revision, origin, stage: true, lockFinalization: opts.lockFinalization === true });
  return { changed: true, deployment: d };
}

export type ParsedRevision = { kind: 'checksum'; value: string } | { kind: 'version'; value: string };

/** rpm-ostree's REVISION syntax: revision=CSUM, version=V, a bare checksum, else a version. */
export function parseRevision(rev: string): ParsedRevision {
  if (typeof rev !== 'string' || rev === '') throw new XylemError('Missing revision');
  if (rev.startsWith('revision=')) {
    const v = rev.slice('revision='.length);
    if (!CHECKSUM_RE.test(v)) throw new XylemError(`Invalid checksum '${v}'`);
    return { kind: 'checksum', value: v };
  }
  if (rev.startsWith('version=')) return { kind: 'version', value: rev.slice('version='.length) };
  if (CHECKSUM_RE.test(rev)) return { kind: 'checksum', value: rev };
  return { kind: 'version', value: rev };
}

/** Cap on history walked when looking a version up (a hostile server could serve an endless chain). */
const MAX_HISTORY = 100_000;

/** Walks the ref's history (commit metadata pulled as needed) for a version or a checksum. */
async function lookupInHistory(ctx: TxnContext, refspec: string, rev: ParsedRevision): Promise<string> {
  const repo = await ctx.sysroot.repo();
  const { remote } = parseRefspec(refspec);
  if (remote !== null) await pullRef(ctx, refspec, null, false, { commitMetadataOnly: true, depth: -1 });
  let cur = await resolveRev(repo, refspec, true);
  for (let n = 0; cur && n < MAX_HISTORY; n++) {
    ctx.token.throwIfCancelled();
    if (rev.kind === 'checksum' && cur === rev.value) return cur;
    let c;
    try {
      c = await repo.loadCommit(cur);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') break;
      throw e;
    }
    if (rev.kind === 'version') {
      const v = c.metadata.find(([k, x]) => k === 'version' && x.type === 's');
      if (v && v[1].value === rev.value) return cur;
    }
    cur = c.parent;
  }
  throw new XylemError(rev.kind === 'version' ? `Version ${rev.value} not found in ${refspec}` : `Checksum ${rev.value} not found in ${refspec}`);
}

/** `deploy REVISION`: pin the origin to a commit of its ref's history and deploy it. */
export async function deployTxn(ctx: TxnContext, revision: string): Promise<TxnResult> {
  const { sysroot } = ctx;
  const osname = await resolveOsname(sysroot, ctx.osname);
  const om = originMerge(sysroot, osname);
  const origin = mergeOrigin(sysroot, om);
  const refspec = originRefspecOf(origin);
  if (CHECKSUM_RE.test(refspec)) throw new XylemError('Cannot look up version while pinned to commit');
  const rev = parseRevision(revision);
  ctx.out(rev.kind === 'version' ? `Resolving version '${rev.value}'` : `Validating checksum '${rev.value}'`);
  const csum = await lookupInHistory(ctx, refspec, rev);
  origin.set('origin', 'override-commit', csum);
  await pullRef(ctx, refspec, csum, false);
  if (csum === om.csum && origin.toString() === copyOrigin(om.origin).toString()) {
    ctx.out('No change.');
    return { changed: false };
  }
  const d = await deployNew(ctx, { osname, revision: csum, origin, stage: true });
  return { changed: true, deployment: d };
}

/** The refspec `rebase TARGET` means, from the current one (rpm-ostree's forms). */
export function rebaseRefspec(current: string, target: string): string {
  if (typeof target !== 'string' || target === '') throw new XylemError('Must specify refspec, or -b branch or -m remote');
  const cur = CHECKSUM_RE.test(current) ? { remote: null, ref: current } : parseRefspec(current);
  let next: string;
  if (target.startsWith(':')) next = target.slice(1);
  else if (target.endsWith(':')) next = `${target.slice(0, -1)}:${cur.ref}`;
  else if (CHECKSUM_RE.test(target)) next = target;
  else {
    const t = parseRefspec(target);
    next = t.remote !== null ? target : cur.remote !== null ? `${cur.remote}:${t.ref}` : t.ref;
  }
  if (!CHECKSUM_RE.test(next)) parseRefspec(next);
  if (next === current) throw new XylemError(`Old and new refs are equal: ${next}`);
  return next;
}

/** `rebase REFSPEC [REVISION]`: switch the origin to another ref (or remote) and deploy it. */
export async function rebaseTxn(ctx: TxnContext, target: string, revision: string | null, opts: { skipPurge?: boolean } = {}): Promise<TxnResult> {
  const { sysroot } = ctx;
  const osname = await resolveOsname(sysroot, ctx.osname);
  const om = originMerge(sysroot, osname);
  const oldOrigin = mergeOrigin(sysroot, om);
  const oldRefspec = originRefspecOf(oldOrigin);
  const refspec = rebaseRefspec(oldRefspec, target);
  if (target.endsWith(':')) ctx.out(`Rebasing to ${refspec}`);
  const origin = mergeOrigin(sysroot, om);
  origin.remove('origin', 'override-commit');
  origin.remove('origin', 'baserefspec');
  origin.set('origin', 'refspec', refspec);
  const repo = await sysroot.repo();
  let csum: string;
  if (CHECKSUM_RE.test(refspec)) {
    csum = refspec;
    if (!(await repo.loadCommit(csum).then(() => true, () => false))) throw new XylemError(`Commit ${csum} is not in the repository; pull it first`);
  } else if (revision) {
    csum = await lookupInHistory(ctx, refspec, parseRevision(revision));
    origin.set('origin', 'override-commit', csum);
    await pullRef(ctx, refspec, csum, false);
  } else {
    await pullRef(ctx, refspec, null, false);
    csum = (await resolveRev(repo, refspec))!;
  }
  const d = await deployNew(ctx, { osname, revision: csum, origin, stage: true });
  // The old ref is no longer followed: drop it so nothing keeps pulling or retaining it.
  if (!opts.skipPurge && !CHECKSUM_RE.test(oldRefspec)) {
    const { remote, ref } = parseRefspec(oldRefspec);
    await repo.fs.unlink(refPath(repo, remote, ref)).catch((e) => {
      if (errnoCode(e) !== 'ENOENT') throw e;
    });
  }
  return { changed: true, deployment: d };
}

/** `rollback`: make the rollback deployment (or, with only a pending one, the booted one) the default. */
export async function rollbackTxn(ctx: TxnContext): Promise<TxnResult> {
  const { sysroot } = ctx;
  const osname = await resolveOsname(sysroot, ctx.osname);
  const booted = anchor(sysroot, osname);
  let pending: Deployment | null = null;
  let rollback: Deployment | null = null;
  let seen = false;
  for (const d of sysroot.deployments) {
    if (deploymentsEqual(d, booted)) {
      seen = true;
      continue;
    }
    if (d.osname !== osname) continue;
    if (!seen && !pending) pending = d;
    else if (seen && !rollback) rollback = d;
  }
  if (!rollback && !pending) throw new XylemError('No rollback deployment found');
  if (pending && (pending as { staged?: boolean }).staged === true) throw new XylemError('Staged deployment (remove with cleanup -p)');
  const target = rollback ?? booted!;
  ctx.out(`Moving '${target.csum}.${target.deployserial}' to be first deployment`);
  const list = [target, ...sysroot.deployments.filter((d) => d !== target)];
  if (list[0] === sysroot.deployments[0]) return { changed: false };
  await enter(ctx, 'finalizing', 'writing the boot configuration');
  await writeDeployments(sysroot, list, { out: ctx.out });
  return { changed: true, deployment: target };
}

export interface CleanupOptions {
  pending?: boolean;
  rollback?: boolean;
  base?: boolean;
  repomd?: boolean;
}

/** `cleanup -p|-r|-b|-m`: drop the pending and/or rollback deployments, prune, clear caches. */
export async function cleanupTxn(ctx: TxnContext, opts: CleanupOptions): Promise<TxnResult> {
  const { sysroot } = ctx;
  if (!opts.pending && !opts.rollback && !opts.base && !opts.repomd) throw new XylemError('At least one cleanup option must be specified');
  let base = !!opts.base;
  let changed = false;
  if (opts.pending || opts.rollback) {
    const osname = await resolveOsname(sysroot, ctx.osname);
    const booted = anchor(sysroot, osname);
    const list: Deployment[] = [];
    let seen = false;
    for (const d of sysroot.deployments) {
      if (deploymentsEqual(d, booted)) {
        seen = true;
        list.push(d);
        continue;
      }
      if (d.osname !== osname || isPinned(d)) {
        list.push(d);
        continue;
      }
      if (!seen && opts.pending) continue;
      if (seen && opts.rollback) continue;
      list.push(d);
    }
    if (list.length !== sysroot.deployments.length) {
      await enter(ctx, 'finalizing', 'writing the boot configuration');
      await writeDeployments(sysroot, list, { postclean: false, out: ctx.out });
      base = true;
      changed = true;
    } else ctx.out('Deployments unchanged.');
  }
  if (base) {
    await enter(ctx, 'cleaning', 'pruning the repository');
    const r = await cleanupSysroot(sysroot, { prune: true });
    if (r.prune && r.prune.freedBytes > 0) ctx.out(`Freed: ${formatSize(r.prune.freedBytes)} (pkgcache branches: 0)`);
  }
  if (opts.repomd) {
    // Our download caches: the cached remote summaries and interrupted downloads.
    const repo = await sysroot.repo();
    await sysroot.fs.rmrf(joinPath(repo.path, 'tmp', 'cache'));
  }
  return { changed };
}

export interface KargsOptions {
  append?: string[];
  appendIfMissing?: string[];
  delete?: string[];
  deleteIfPresent?: string[];
  replace?: string[];
  /** Replace the whole argument list (--editor). */
  set?: string[] | null;
  /** Edit the deployment at this index (default: the booted one, else the default). */
  deployIndex?: number | null;
}

/** The kernel arguments of a deployment without the ones ostree manages (ostree=, init= to it). */
export function userKargs(d: Deployment): KernelArgs {
  const k = KernelArgs.parse(d.bootconfig.get('options') ?? '');
  k.deleteKey('ostree');
  return k;
}

/** The deployment `kargs` acts on. */
export function kargsTarget(sysroot: Sysroot, osname: string, index: number | null | undefined): Deployment {
  if (index !== null && index !== undefined) {
    const d = sysroot.deployments[index];
    if (!d) throw new XylemError(`Invalid deployment index ${index}, must be between 0 and ${sysroot.deployments.length - 1}`);
    return d;
  }
  const d = anchor(sysroot, osname);
  if (!d) throw new XylemError('No deployments found');
  return d;
}

/** `kargs --append/--delete/--replace…`: a new deployment of the same commit with edited arguments. */
export async function kargsTxn(ctx: TxnContext, opts: KargsOptions): Promise<TxnResult & { kargs: string }> {
  const { sysroot } = ctx;
  const osname = await resolveOsname(sysroot, ctx.osname);
  const target = kargsTarget(sysroot, osname, opts.deployIndex);
  const before = userKargs(target);
  const k = opts.set ? KernelArgs.fromArgv(opts.set) : before.clone();
  for (const a of opts.replace ?? []) k.replace(a);
  for (const a of opts.delete ?? []) k.delete(a);
  for (const a of opts.deleteIfPresent ?? []) {
    try {
      k.delete(a);
    } catch {
      // --delete-if-present: absence is fine
    }
  }
  for (const a of opts.append ?? []) k.append(a);
  for (const a of opts.appendIfMissing ?? []) k.appendIfMissing(a);
  if (k.toString() === before.toString()) {
    ctx.out('No changes.');
    return { changed: false, kargs: before.toString() };
  }
  const origin = mergeOrigin(sysroot, target);
  const d = await deployNew(ctx, { osname: target.osname, revision: target.csum, origin, kargs: k.toArgv(), overlaysFrom: target });
  ctx.out('Kernel arguments updated.');
  return { changed: true, deployment: d, kargs: k.toString() };
}

/** Origin groups/keys that record local mutations (layering, overrides, initramfs). */
const MUTATION_GROUPS = ['packages', 'overrides', 'modules'];
const MUTATION_KEYS: Array<[string, string]> = [
  ['rpmostree', 'regenerate-initramfs'],
  ['rpmostree', 'initramfs-args'],
  ['rpmostree', 'initramfs-etc'],
];

/** `reset`: a new deployment of the current base without the origin's local mutations (offline). */
export async function resetTxn(ctx: TxnContext): Promise<TxnResult> {
  const { sysroot } = ctx;
  const osname = await resolveOsname(sysroot, ctx.osname);
  const om = originMerge(sysroot, osname);
  const origin = mergeOrigin(sysroot, om);
  let changed = false;
  for (const g of MUTATION_GROUPS) if (origin.removeGroup(g)) changed = true;
  for (const [g, k] of MUTATION_KEYS) if (origin.remove(g, k)) changed = true;
  if (origin.hasGroup('rpmostree') && origin.keys('rpmostree').length === 0) origin.removeGroup('rpmostree');
  if (!changed) {
    ctx.out('No change.');
    return { changed: false };
  }
  // The base is the deployment's own commit (no layering here), so nothing is pulled.
  const base = origin.get('origin', 'baserefspec');
  if (base) {
    origin.remove('origin', 'baserefspec');
    origin.set('origin', 'refspec', base);
  }
  const d = await deployNew(ctx, { osname, revision: om.csum, origin });
  return { changed: true, deployment: d };
}

/** Version string of a commit for messages (null when none). */
export async function commitVersion(sysroot: Sysroot, csum: string): Promise<string | null> {
  return commitStringMeta(await sysroot.repo(), csum, 'version');
}
