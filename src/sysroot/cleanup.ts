// `ostree admin cleanup` and the clean-up after every deployment write: the other boot version's
// loader and link folders, deployment folders and kernels no deployment uses, the GC-root refs
// ostree/B/S/I (one per deployment, so pruning keeps their commits), and a prune of the repo
// to the tips of its refs.

import { deploymentRelPath } from './deployment.ts';
import { removeDeploymentFiles } from './seal.ts';
import { cleanupOverlayInitrds } from './overlay-initrd.ts';
import { listLocalRefs, refPath, setRef } from '../repo/refs.ts';
import { pruneRepo, type PruneResult } from '../maintenance/prune.ts';
import { formatSize } from '../util/format-size.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { fromUtf8 } from '../util/bytes.ts';
import { type Repo } from '../repo/repo.ts';
import { randomSuffix } from '../util/atomic-write.ts';
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
    // The origin goes first (a folder without origin is still recognisably garbage), then the
    // immutable flag, as libostree's cleanup_old_deployments.
    await removeDeploymentFiles(sysroot, d);
    result.deletedDeployments.push(rel);
  }
  // A removed deployment's backing folder (its unlock overlay's upper/work), as newer libostree.
  for (const os of await sysroot.listStateroots()) {
    const backing = sysroot.abs(`ostree/deploy/${os}/backing`);
    if ((await fs.lstat(backing).catch(() => null))?.kind !== 'dir') continue;
    for (const e of await fs.readdir(backing)) {
      if (!active.has(`ostree/deploy/${os}/deploy/${e.name}`)) await fs.rmrf(joinPath(backing, e.name));
    }
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
  // Overlay initrds no boot entry names (a staged deployment's still wait in the run directory).
  const usedOverlays = new Set<string>();
  for (const d of sysroot.deployments) if (!d.staged) for (const c of d.overlayInitrds ?? []) usedOverlays.add(`${c}.img`);
  result.deletedBootDirs.push(...(await cleanupOverlayInitrds(sysroot, usedOverlays)));
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The boot id naming repo staging folders: OSTREE_BOOTID, else the kernel's, else null. */
async function bootId(sysroot: Sysroot): Promise<string | null> {
  const env = sysroot.host.env?.OSTREE_BOOTID;
  if (env && /^[A-Za-z0-9-]{1,64}$/.test(env)) return env;
  try {
    const id = fromUtf8(await sysroot.fs.readFile('/proc/sys/kernel/random/boot_id')).trim();
    return UUID_RE.test(id) ? id : null;
  } catch {
    return null;
  }
}

/**
 * The repository transaction the deployment refs are written in, shaped like libostree's: it
 * takes a staging folder tmp/staging-BOOTID-XXXXXX (reusing one this boot left behind), fails
 * before publishing under OSTREE_REPO_TEST_ERROR=pre-commit (leaving the folder, as an
 * interrupted transaction does), and on success removes its folder and those of other boots.
 */
async function refsTransaction(sysroot: Sysroot, repo: Repo, apply: () => Promise<void>): Promise<void> {
  const fs = repo.fs;
  const tmp = joinPath(repo.path, 'tmp');
  const id = await bootId(sysroot);
  const prefix = id ? `staging-${id}-` : null;
  let mine: string | null = null;
  if (prefix) {
    await fs.mkdir(tmp, { recursive: true, mode: 0o755 });
    const entries = await fs.readdir(tmp);
    const reuse = entries.find((e) => e.kind === 'dir' && e.name.startsWith(prefix));
    mine = joinPath(tmp, reuse ? reuse.name : `${prefix}${randomSuffix()}`);
    if (reuse) {
      const now = Math.floor((sysroot.host.now?.() ?? Date.now()) / 1000);
      await fs.lutimes(mine, now, now).catch(() => undefined);
    } else await fs.mkdir(mine, { mode: 0o755 });
  }
  if ((sysroot.host.env?.OSTREE_REPO_TEST_ERROR ?? '').split(',').includes('pre-commit'))
    throw new XylemError('OSTREE_REPO_TEST_ERROR_PRE_COMMIT specified');
  await apply();
  if (!mine || !prefix) return;
  await fs.rmrf(mine);
  // Staging folders of earlier boots belong to transactions that can no longer be running.
  for (const e of await fs.readdir(tmp)) {
    if (e.kind !== 'dir' || !e.name.startsWith('staging-') || e.name.startsWith(prefix)) continue;
    if (!UUID_RE.test(e.name.slice('staging-'.length, 'staging-'.length + 36))) continue;
    await fs.rmrf(joinPath(tmp, e.name));
  }
}

/**
 * Rewrites refs/heads/ostree/B/S/I for the current deployment list. Old ref files are unlinked
 * and their (possibly empty) folders left in place, as libostree does.
 */
export async function generateDeploymentRefs(sysroot: Sysroot): Promise<void> {
  await sysroot.ensureWriteLock();
  const repo = await sysroot.repo();
  await refsTransaction(sysroot, repo, async () => {
    for (const r of await listLocalRefs(repo)) {
      if (!r.ref.startsWith('ostree/')) continue;
      await repo.fs.unlink(refPath(repo, null, r.ref)).catch((e) => {
        if (errnoCode(e) !== 'ENOENT') throw e;
      });
    }
    for (const d of sysroot.deployments) await setRef(repo, null, `ostree/${sysroot.bootversion}/${sysroot.subbootversion}/${d.index}`, d.csum);
  });
}

export async function cleanupSysroot(sysroot: Sysroot, opts: CleanupOptions = {}): Promise<CleanupResult> {
  await sysroot.ensureWriteLock();
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
