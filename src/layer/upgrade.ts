// `upgrade` of a layered deployment, as rpm-ostree does it (reference note rpm-ostree.md §3.3):
// pull the origin's base refspec, and when the base moved re-resolve the layered request against
// the new base (base packages locked again) in the same transaction — packages already in the
// cache are not downloaded again — then deploy the new layered commit. --check/--preview pull
// the new base, resolve without building or deploying, and list the package changes (base and
// layer together) with the download size of what the layer would fetch.

import { needsInitramfs, readInitramfsRequest } from './initramfs-origin.ts';
import { commitPackages } from '../compose/db.ts';
import { diffPackages, renderDiffBlock } from '../compose/dbdiff.ts';
import { resolveRev } from '../repo/refs.ts';
import { formatNevra, type Nevra } from '../rpm/types.ts';
import { pullRef, resolveOsname, type TxnContext } from '../updater/operations.ts';
import { XylemError } from '../util/errors.ts';
import { isLayered, readLayerRequest } from './origin.ts';
import { readSnapshotPolicy } from './snapshot.ts';
import { parseNevraLoose, baseCommitOf, layerTxn, type LayerTxnOptions, type LayerTxnResult } from './txn.ts';

export interface LayerUpgradeOptions extends LayerTxnOptions {
  allowDowngrade?: boolean;
  /** Only report whether a new base is available and what would change (nothing is deployed). */
  check?: boolean;
  preview?: boolean;
}

export interface LayerUpgradeResult extends LayerTxnResult {
  /** --check/--preview: the package changes, rpm-ostree's block format (empty when none). */
  diff?: string;
  /** The new base commit, when there is one. */
  newBase?: string;
}

/** Upgrades the base under a layered deployment; see the file header. */
export async function layerUpgradeTxn(ctx: TxnContext, opts: LayerUpgradeOptions = {}): Promise<LayerUpgradeResult> {
  const { sysroot } = ctx;
  const osname = await resolveOsname(sysroot, ctx.osname);
  const om = sysroot.deployments.find((d) => d.osname === osname);
  if (!om) throw new XylemError(`No deployments found for OS '${osname}'`);
  const refspec = om.origin?.get('origin', 'baserefspec') ?? om.origin?.get('origin', 'refspec');
  if (!refspec) throw new XylemError('No origin/baserefspec in current deployment origin; cannot upgrade via ostree');
  const repo = await sysroot.repo();
  const oldBase = await baseCommitOf(repo, om.csum);
  ctx.out(`Updating from: ${refspec}`);
  await pullRef(ctx, refspec, null, !opts.allowDowngrade);
  const newBase = (await resolveRev(repo, refspec))!;
  const none: LayerUpgradeResult = { changed: false, added: [], removed: [], replaced: [], inactive: [] };
  if (newBase === oldBase) {
    // Only the snapshot policy changes: re-layer on the same base with it.
    if (opts.baseSnapshot !== undefined && opts.baseSnapshot !== readSnapshotPolicy(om.origin) && !opts.check && !opts.preview) return layerTxn(ctx, {}, opts);
    ctx.out('No upgrade available.');
    return none;
  }
  if (opts.check || opts.preview) {
    const r = await layerTxn(ctx, {}, { ...opts, newBase, dryRun: true });
    const before = (await commitPackages(repo, om.csum)).packages;
    const gone = new Set([...r.removed, ...r.replaced.map(([, o]) => o)]);
    const after: Nevra[] = (await commitPackages(repo, newBase)).packages.filter((p) => !gone.has(formatNevra(p)));
    for (const n of [...r.added, ...r.replaced.map(([n]) => n)]) after.push(parseNevraLoose(n));
    return { ...r, changed: false, newBase, diff: renderDiffBlock(diffPackages(before, after)) };
  }
  const r = await layerTxn(ctx, {}, { ...opts, newBase });
  return { ...r, newBase };
}

/** Whether the stateroot's newest deployment carries a layering request (upgrade goes through here then). */
export async function hasLayeredOrigin(ctx: TxnContext): Promise<boolean> {
  const osname = await resolveOsname(ctx.sysroot, ctx.osname);
  const om = ctx.sysroot.deployments.find((d) => d.osname === osname);
  return isLayered(readLayerRequest(om?.origin ?? null)) || needsInitramfs(readInitramfsRequest(om?.origin ?? null));
}

/** Whether the stateroot's newest deployment runs a client-layer commit (rpmostree.clientlayer). */
export async function hasLayeredCommit(ctx: TxnContext): Promise<boolean> {
  const osname = await resolveOsname(ctx.sysroot, ctx.osname);
  const om = ctx.sysroot.deployments.find((d) => d.osname === osname);
  if (!om) return false;
  return (await baseCommitOf(await ctx.sysroot.repo(), om.csum)) !== om.csum;
}
