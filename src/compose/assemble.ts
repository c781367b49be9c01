// Assembling a composed tree and committing it, as rpm-ostree's unified core does
// (rpmostree-core.cxx, rust/src/composepost.rs; reference note rpm-packages.md §7.3): hardlinked
// checkouts of the package commits into one root, scripts through the sandbox, the rpmdb, the
// postprocessing of postprocess.ts and the treefile steps, then one commit whose file owners come
// from the RPM headers (upstream's apply_rpmfi_overrides) resolved with the tree's own passwd and
// group. The sandbox, rpmdb writer and SELinux labeller are injected (h-sandbox, h-rpmdb,
// h-selinux provide them); without them the matching steps are reported as skipped.

import type { GVVariant } from '../format/gvariant.ts';
import type { Xattr } from '../format/objects.ts';
import { loadPolicyFromDirectory, type SePolicy } from '../selinux/policy.ts';
import { encodeFileCaps } from './fcaps.ts';
import { checkout } from '../repo/checkout.ts';
import { importDirectory, makeImportContext, writeCommit, type FileInfo } from '../repo/commit.ts';
import { MutableTree } from '../repo/mutable-tree.ts';
import type { Repo } from '../repo/repo.ts';
import { Transaction } from '../repo/transaction.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import type { ComposePackage } from './package.ts';
import {
  checkRealDirs,
  POSTPROCESS_DIRS,
  enableUnits,
  mergePackageTmpfiles,
  moveEtc,
  nsswitchAltfiles,
  placeKernel,
  readIds,
  rootfsSkeleton,
  rpmdbLinks,
  splitPasswd,
  varToTmpfiles,
  type KernelInfo,
} from './postprocess.ts';
import { addFiles, removeFiles, removeFromPackages } from './treefile-steps.ts';
import type { Treefile } from './treefile.ts';
import { translatePath } from './translate.ts';
import type { ComposeEvent } from './events.ts';

/** Runs the packages' %pre, %post, %posttrans (and file triggers) in a sandbox rooted at `root`. */
export interface ScriptRunner {
  runPackageScripts(root: string, packages: readonly ComposePackage[], emit: (e: ComposeEvent) => void): Promise<void>;
  /** Runs one postprocess script (bytes) with the tree as its root, network-less. */
  runPostprocess(root: string, script: Uint8Array, name: string): Promise<void>;
}

/** Writes the rpmdb for `packages` (in transaction order) at usr/share/rpm of `root`. */
export interface RpmdbWriter {
  writeRpmdb(root: string, packages: readonly ComposePackage[]): Promise<void>;
}

export interface AssembleServices {
  scripts?: ScriptRunner;
  rpmdb?: RpmdbWriter;
  emit?: (e: ComposeEvent) => void;
}

/** A package and its commit in the package cache. */
export interface CachedPackage {
  pkg: ComposePackage;
  commit: string;
}

export interface AssembleResult {
  kernel: KernelInfo | null;
}

function hasScripts(p: ComposePackage): boolean {
  if (typeof p.scripts !== 'function') return false;
  return p.scripts().some((s) => ['pre', 'post', 'posttrans', 'prein', 'postin'].includes(s.kind));
}

/** Builds the root at `root` (must not exist) from the package commits and the treefile. */
export async function assembleRoot(
  cache: Repo,
  root: string,
  packages: readonly CachedPackage[],
  tf: Treefile,
  services: AssembleServices = {},
): Promise<AssembleResult> {
  const fs = cache.fs;
  const emit = services.emit ?? (() => undefined);
  if (await fs.lstat(root)) throw new XylemError(`${root}: the assembly folder already exists`, 'EEXIST');
  await fs.mkdir(root, { mode: 0o755 });
  const userMode = cache.mode !== 'bare';
  emit({ type: 'phase', phase: 'checkout', total: packages.length });
  for (const { commit } of packages) await checkout(cache, commit, root, { userMode, overwrite: 'union-files' });
  await checkRealDirs(fs, root, POSTPROCESS_DIRS);
  const pkgs = packages.map((p) => p.pkg);
  if (pkgs.some(hasScripts)) {
    if (!services.scripts) throw new XylemError('The packages have scripts, and no script sandbox is available (Host.sandbox)', 'ENOSANDBOX');
    emit({ type: 'phase', phase: 'scripts', total: pkgs.length });
    await services.scripts.runPackageScripts(root, pkgs, emit);
  }
  await rpmdbLinks(fs, root);
  if (services.rpmdb) {
    emit({ type: 'phase', phase: 'rpmdb', total: pkgs.length });
    await services.rpmdb.writeRpmdb(root, pkgs);
    await rpmdbLinks(fs, root);
  } else emit({ type: 'skipped', step: 'rpmdb', reason: 'no rpmdb writer available' });
  emit({ type: 'phase', phase: 'postprocess', total: 0 });
  await moveEtc(fs, root);
  await enableUnits(fs, root, tf.units, tf.defaultTarget);
  await removeFiles(fs, root, tf.removeFiles);
  await addFiles(fs, root, tf.addFiles, tf.externals);
  await removeFromPackages(fs, root, tf.removeFromPackages, pkgs);
  const scripts: Array<[string, Uint8Array]> = tf.postprocess.map((s, i) => [`postprocess[${i}]`, new TextEncoder().encode(s)]);
  if (tf.postprocessScript) scripts.push([tf.postprocessScript, tf.externals.find((e) => e.path === tf.postprocessScript)!.data]);
  if (scripts.length > 0) {
    if (!services.scripts) throw new XylemError('The treefile has postprocess scripts, and no script sandbox is available (Host.sandbox)', 'ENOSANDBOX');
    for (const [name, body] of scripts) await services.scripts.runPostprocess(root, body, name);
    await moveEtc(fs, root);
    await checkRealDirs(fs, root, POSTPROCESS_DIRS);
  }
  await nsswitchAltfiles(fs, root);
  await splitPasswd(fs, root, tf.etcGroupMembers);
  await varToTmpfiles(fs, root);
  await mergePackageTmpfiles(fs, root);
  await rootfsSkeleton(fs, root, { tmpIsDir: tf.tmpIsDir });
  const kernel = await placeKernel(fs, root, tf.bootLocation, () => cache.createSha256());
  if (kernel && !kernel.initramfs) emit({ type: 'skipped', step: 'initramfs', reason: 'no initramfs in the tree (dracut is not run)' });
  return { kernel };
}

/** What RPM headers say of a file beyond its content: non-root owners and file capabilities. */
export interface HeaderOverride {
  user: string;
  group: string;
  caps: string;
  pkg: string;
}

/** Header overrides by path in the committed tree ('/usr/…'); later packages win, as their files do. */
export function headerOverrides(packages: readonly ComposePackage[]): Map<string, HeaderOverride> {
  const m = new Map<string, HeaderOverride>();
  for (const p of packages)
    for (const f of p.files()) {
      if (f.ghost || (f.user === 'root' && f.group === 'root' && !f.caps)) continue;
      const tr = translatePath(f.path, f.mode, f.user, f.group, f.linkto, p.pkg);
      if (tr.kind === 'store') m.set(`/${tr.path}`, { user: f.user, group: f.group, caps: f.caps, pkg: p.pkg });
    }
  return m;
}

export interface CommitRootOptions {
  /** The ref to point at the commit; null: none (the caller keeps it alive otherwise). */
  ref: string | null;
  parent: string | null;
  metadata: Array<[string, GVVariant]>;
  timestamp: bigint;
  subject?: string;
  /** Label with the tree's own SELinux policy (treefile `selinux`, default true). */
  selinux: boolean;
  emit?: (e: ComposeEvent) => void;
}

/** Commits the assembled root to `opts.ref` in `repo` with header owners applied. */
export async function commitRoot(repo: Repo, root: string, packages: readonly ComposePackage[], opts: CommitRootOptions): Promise<string> {
  const owners = headerOverrides(packages);
  const ids = await readIds(repo.fs, root);
  const xattrHook = (path: string, mode: number, xattrs: Xattr[]): Xattr[] => {
    const o = owners.get(path);
    if (!o || !o.caps || (mode & 0o170000) !== 0o100000) return xattrs;
    const rest = xattrs.filter((x) => x.name !== 'security.capability');
    rest.push({ name: 'security.capability', value: encodeFileCaps(o.caps, `${o.pkg}: ${path}`) });
    return rest.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  };
  let sepolicy: SePolicy | undefined;
  if (opts.selinux) {
    sepolicy = (await loadPolicyFromDirectory(repo.fs, root)) ?? undefined;
    if (!sepolicy) opts.emit?.({ type: 'skipped', step: 'selinux', reason: 'no SELinux policy in the tree' });
  }
  const filter = (path: string, info: FileInfo): boolean => {
    const o = owners.get(path);
    if (!o || (o.user === 'root' && o.group === 'root')) return true;
    const uid = o.user === 'root' ? 0 : ids.uids.get(o.user);
    const gid = o.group === 'root' ? 0 : ids.gids.get(o.group);
    if (uid === undefined) throw new XylemError(`${o.pkg}: ${path}: user '${o.user}' is not in the tree's passwd`, 'ENOUSER');
    if (gid === undefined) throw new XylemError(`${o.pkg}: ${path}: group '${o.group}' is not in the tree's group`, 'ENOGROUP');
    info.uid = uid;
    info.gid = gid;
    return true;
  };
  const txn = new Transaction(repo);
  try {
    const tree = new MutableTree();
    await importDirectory(makeImportContext(txn, { filter, xattrHook, ...(sepolicy ? { sepolicy } : {}) }), root, tree);
    const { checksum } = await writeCommit(txn, tree, {
      branch: opts.ref,
      parent: opts.parent,
      subject: opts.subject ?? '',
      timestamp: opts.timestamp,
      metadata: opts.metadata,
      bindRef: false,
    });
    if (opts.ref !== null) txn.setRef(null, opts.ref, checksum);
    await txn.commit();
    return checksum;
  } catch (e) {
    await txn.abort().catch(() => undefined);
    throw e;
  }
}
