// `admin upgrade` and `admin switch`: pull the origin's ref (or a pinned override commit)
// through the remote named in the origin — file:// remotes read locally, others over HTTP —
// refuse going back in time unless allowed, then deploy it as the new default.

import { KeyFile } from '../format/keyfile.ts';
import { parseRefspec, resolveRev } from '../repo/refs.ts';
import { pull } from '../pull/pull.ts';
import { XylemError } from '../util/errors.ts';
import { type Deployment, checksumProblem, originOverrideCommit } from './deployment.ts';
import { deployTree } from './deploy.ts';
import { stageTree } from './staged.ts';
import { simpleWriteDeployment, type WriteResult } from './write.ts';
import { commitStringMeta, type Sysroot } from './sysroot.ts';

export interface UpgradeOptions {
  /** Stateroot (default: the booted one). */
  osname?: string | null;
  /** Deploy this commit instead of the ref's tip; '' clears a previous override. */
  overrideCommit?: string | null;
  allowDowngrade?: boolean;
  /** Only pull (--pull-only). */
  pullOnly?: boolean;
  /** Do not pull, deploy what the repo has (--deploy-only). */
  deployOnly?: boolean;
  /** A new origin (switch). */
  origin?: KeyFile;
  /** Stage the new deployment (finalized at shutdown) instead of writing the boot set. */
  stage?: boolean;
  out?: (line: string) => void;
  /** Warnings (local /etc changes not merged); default: `out`. */
  warn?: (line: string) => void;
}

export interface UpgradeResult {
  /** Whether a new deployment was written. */
  changed: boolean;
  revision: string;
  deployment: Deployment | null;
  write: WriteResult | null;
}

/** Pulls the origin's ref (or override commit) unless deployOnly, and returns the commit to deploy. */
async function pullOrResolve(sysroot: Sysroot, origin: KeyFile, override: string | null, opts: UpgradeOptions): Promise<string> {
  const refspec = origin.get('origin', 'refspec')!;
  const { remote, ref } = parseRefspec(refspec);
  const repo = await sysroot.repo();
  if (!opts.deployOnly && remote !== null) {
    await pull(repo, remote, {
      refs: [override ? `${ref}@${override}` : ref],
      // Refuse a ref that moved back in time before fetching its content.
      timestampCheck: !opts.allowDowngrade && !override,
    });
  }
  return override ?? (await resolveRev(repo, refspec))!;
}

function isoTime(ts: bigint): string {
  return new Date(Number(ts) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/** Pulls and deploys the newest (or overridden) commit of the merge deployment's origin. */
export async function upgrade(sysroot: Sysroot, opts: UpgradeOptions = {}): Promise<UpgradeResult> {
  await sysroot.ensureWriteLock();
  const out = opts.out ?? (() => undefined);
  const merge = sysroot.mergeDeployment(opts.osname ?? null);
  if (!merge) throw new XylemError(`No previous deployment for OS '${opts.osname ?? sysroot.booted?.osname ?? ''}'`);
  // libostree's upgrader reads the merge deployment's origin first (switch too): a corrupt pin fails.
  if (merge.origin) originOverrideCommit(merge.origin, sysroot.originPath(merge));
  const base = opts.origin ?? merge.origin;
  if (!base) throw new XylemError(`No origin known for deployment ${merge.csum}.${merge.deployserial}`);
  const origin = KeyFile.parse(base.toString());
  const refspec = origin.get('origin', 'refspec');
  if (!refspec) throw new XylemError('No origin/refspec in current deployment origin; cannot upgrade via ostree');
  if (opts.overrideCommit === undefined || opts.overrideCommit === null || opts.overrideCommit === '')
    origin.remove('origin', 'override-commit');
  else {
    const problem = checksumProblem(opts.overrideCommit);
    if (problem) throw new XylemError(problem);
    origin.set('origin', 'override-commit', opts.overrideCommit);
  }
  const override = origin.get('origin', 'override-commit') ?? null;
  // An origin may say why this system must not update itself (e.g. a subscription is missing).
  const unconfigured = origin.get('origin', 'unconfigured-state');
  if (unconfigured && !opts.origin) throw new XylemError(unconfigured);
  const repo = await sysroot.repo();

  let revision = await pullOrResolve(sysroot, origin, override, opts);
  // End of life: the last commit of a branch may name its successor; follow it once.
  if (!override) {
    const rebase = await commitStringMeta(repo, revision, 'ostree.endoflife-rebase');
    if (rebase) {
      const { remote } = parseRefspec(origin.get('origin', 'refspec')!);
      origin.set('origin', 'refspec', remote !== null ? `${remote}:${rebase}` : rebase);
      revision = await pullOrResolve(sysroot, origin, null, opts);
    }
  }
  if (opts.pullOnly) return { changed: revision !== merge.csum, revision, deployment: null, write: null };
  if (revision === merge.csum && !opts.origin) {
    return { changed: false, revision, deployment: null, write: null };
  }
  if (!opts.allowDowngrade && revision !== merge.csum) {
    const [cur, next] = await Promise.all([repo.loadCommit(merge.csum).catch(() => null), repo.loadCommit(revision)]);
    if (cur && next.timestamp < cur.timestamp)
      throw new XylemError(
        `Upgrade target revision '${revision}' with timestamp '${isoTime(next.timestamp)}' is chronologically older than ` +
          `current revision '${merge.csum}' with timestamp '${isoTime(cur.timestamp)}'; use --allow-downgrade to permit`,
      );
  }
  if (opts.stage) {
    const d = await stageTree(sysroot, { osname: merge.osname, revision, origin, mergeDeployment: merge, out });
    return { changed: true, revision, deployment: d, write: null };
  }
  const d = await deployTree(sysroot, { osname: merge.osname, revision, origin, mergeDeployment: merge, out, warn: opts.warn ?? out });
  const write = await simpleWriteDeployment(sysroot, merge.osname, d, merge, { out });
  return { changed: true, revision, deployment: d, write };
}

/**
 * The origin for `admin switch TARGET`: TARGET may be REMOTE:REF, REF (keeping the current
 * remote) or REMOTE: (keeping the current ref).
 */
export function switchOrigin(current: KeyFile | null, target: string): KeyFile {
  const cur = current?.get('origin', 'refspec');
  if (!cur) throw new XylemError('No origin/refspec in current deployment origin; cannot switch');
  const c = parseRefspec(cur);
  let newRefspec: string;
  if (target.endsWith(':')) newRefspec = `${target.slice(0, -1)}:${c.ref}`;
  else {
    const t = parseRefspec(target);
    newRefspec = t.remote !== null ? target : c.remote !== null ? `${c.remote}:${t.ref}` : t.ref;
  }
  if (newRefspec === cur) throw new XylemError(`Old and new refs are equal: ${newRefspec}`);
  // A fresh origin, as ostree_sysroot_origin_new_from_refspec makes.
  const origin = new KeyFile();
  origin.set('origin', 'refspec', newRefspec);
  return origin;
}
