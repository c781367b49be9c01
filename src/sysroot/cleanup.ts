// `ostree admin cleanup` and the clean-up after every deployment write: the other boot version's
// loader and link folders, deployment folders and kernels no deployment uses, the GC-root refs
// ostree/B/S/I (one per deployment, so pruning keeps their commits), and a prune of the repo
// to the tips of its refs.

import { deploymentRelPath } from './deployment.ts';
import { listLocalRefs, refPath, setRef } from '../repo/refs.ts';
import { formatSize, pruneRepo, type PruneResult } from '../repo/prune.ts';
import { errnoCode } from '../util/errors.ts';
import type { Sysroot } from './sysroot.ts';

export interface CleanupOptions {
  /** Prune the repository afterwards (default true). */
  prune?: boolean;
  /** Receives "Freed objects: …" when the prune deleted something. */
  out?: (line: string) => void;
}

export interface CleanupResult {
  deletedDeployments: string[];
  deletedBootDirs: string[];
  prune: PruneResult | null;
}

/** Removes boot/loader.B', ostree/boot.B', ostree/boot.B'.{0,1} and ostree/boot.B.S'. */
async function cleanupOtherBootversions(sysroot: Sysroot): Promise<void> {
  const fs = sysroot.fs;
  const b = sysroot.bootversion;
  const other = b === 0 ? 1 : 0;
  const otherSub = sysroot.subbootversion === 0 ? 1 : 0;
  await fs.rmrf(sysroot.abs(`boot/loader.${other}`));
  const link = sysroot.abs(`ostree/boot.${other}`);
  if (await fs.lstat(link)) await fs.rmrf(link);
  await fs.rmrf(sysroot.abs(`ostree/boot.${other}.0`));
  await fs.rmrf(sysroot.abs(`ostree/boot.${other}.1`));
  await fs.rmrf(sysroot.abs(`ostree/boot.${b}.${otherSub}`));
}

/** Deletes deployment folders (and origins) and boot/ostree/OS-BOOTCSUM folders nobody uses. */
async function cleanupOldDeployments(sysroot: Sysroot, result: CleanupResult): Promise<void> {
  const fs = sysroot.fs;
  const active = new Set(sysroot.deployments.map((d) => deploymentRelPath(d)));
  for (const d of await sysroot.listDeploymentDirs()) {
    const rel = deploymentRelPath(d);
    if (active.has(rel)) continue;
    // The origin goes first: a folder without origin is still recognisably garbage.
    await fs.rmrf(sysroot.abs(`${rel}.origin`));
    await fs.rmrf(sysroot.abs(rel));
    result.deletedDeployments.push(rel);
  }
  const bootDir = sysroot.abs('boot/ostree');
  if (await fs.stat(bootDir)) {
    const used = new Set(sysroot.deployments.map((d) => `${d.osname}-${d.bootcsum}`));
    for (const e of await fs.readdir(bootDir)) {
      if (e.kind !== 'dir' || used.has(e.name)) continue;
      if (!/-[0-9a-f]{64}$/.test(e.name)) continue;
      await fs.rmrf(`${bootDir}/${e.name}`);
      result.deletedBootDirs.push(`boot/ostree/${e.name}`);
    }
  }
}

/**
 * Rewrites refs/heads/ostree/B/S/I for the current deployment list. Old ref files are unlinked
 * and their (possibly empty) folders left in place, as libostree does.
 */
export async function generateDeploymentRefs(sysroot: Sysroot): Promise<void> {
  const repo = await sysroot.repo();
  for (const r of await listLocalRefs(repo)) {
    if (!r.ref.startsWith('ostree/')) continue;
    await repo.fs.unlink(refPath(repo, null, r.ref)).catch((e) => {
      if (errnoCode(e) !== 'ENOENT') throw e;
    });
  }
  for (const d of sysroot.deployments) await setRef(repo, null, `ostree/${sysroot.bootversion}/${sysroot.subbootversion}/${d.index}`, d.csum);
}

export async function cleanupSysroot(sysroot: Sysroot, opts: CleanupOptions = {}): Promise<CleanupResult> {
  const result: CleanupResult = { deletedDeployments: [], deletedBootDirs: [], prune: null };
  await cleanupOtherBootversions(sysroot);
  await cleanupOldDeployments(sysroot, result);
  await generateDeploymentRefs(sysroot);
  if (opts.prune !== false) {
    result.prune = await pruneRepo(await sysroot.repo(), { refsOnly: true, depth: 0 });
    if (result.prune.freedBytes > 0) opts.out?.(`Freed objects: ${formatSize(result.prune.freedBytes)}`);
  }
  return result;
}
