// Assembling a composed tree and committing it, as rpm-ostree's unified core does
// (rpmostree-core.cxx, rust/src/composepost.rs; reference note rpm-packages.md §7.3): passwd/group
// seeded from the previous commit (passwd.ts), hardlinked checkouts of the package commits into one
// root, install-langs, ostree layers, scripts through the sandbox, the rpmdb, the postprocessing of
// postprocess.ts and the treefile steps, the passwd/group checks, the kernel with an initramfs
// from the tree's own dracut (initramfs.ts), then one commit whose file owners come
// from the RPM headers (upstream's apply_rpmfi_overrides) resolved with the tree's own passwd and
// group. The sandbox, rpmdb writer and SELinux labeller are injected (h-sandbox, h-rpmdb,
// h-selinux provide them); without them the matching steps are reported as skipped.

import type { GVVariant } from '../format/gvariant.ts';
import type { Xattr } from '../format/objects.ts';
import { loadPolicyFromDirectory, type SePolicy } from '../selinux/policy.ts';
import { encodeFileCaps } from './fcaps.ts';
import { checkout } from '../repo/checkout.ts';
import { DevinoCache } from '../repo/devino-cache.ts';
import { importDirectory, makeImportContext, writeCommit, type FileInfo } from '../repo/commit.ts';
import { MutableTree } from '../repo/mutable-tree.ts';
import type { Repo } from '../repo/repo.ts';
import { Transaction } from '../repo/transaction.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
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
import { addFiles, dropOtherLangs, mutateOsRelease, removeFiles, removeFromPackages } from './treefile-steps.ts';
import { checkPasswdGroups, idUseOf, seedPasswd, type PreviousCommit } from './passwd.ts';
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
  /** Starts loading what writeRpmdb needs (SQLite), so that it is ready when the root is. */
  prepare?(): void;
}

/** Makes usr/lib/modules/$kver/initramfs.img of `root` with the root's own dracut (initramfs.ts). */
export interface InitramfsBuilder {
  buildInitramfs(root: string, kver: string, args: readonly string[]): Promise<void>;
}

export interface AssembleServices {
  scripts?: ScriptRunner;
  rpmdb?: RpmdbWriter;
  initramfs?: InitramfsBuilder;
  emit?: (e: ComposeEvent) => void;
}

/** What assembly knows of the compose beyond the packages and the treefile. */
export interface AssembleContext {
  /** The previous commit of the ref (preserve-passwd, check-passwd `previous`). */
  previous?: PreviousCommit | null;
  /** The version the commit will carry (mutate-os-release). */
  version?: string | null;
  /** ostree-layers / ostree-override-layers: commits of `repo` checked out over the packages. */
  layers?: { repo: Repo; layers: ReadonlyArray<{ ref: string; commit: string; override: boolean }> };
}

/** A package and its commit in the package cache. */
export interface CachedPackage {
  pkg: ComposePackage;
  commit: string;
}

export interface AssembleResult {
  kernel: KernelInfo | null;
  /** The package files hardlinked into the root (inode → checksum), for commitRoot to reuse. */
  devino: DevinoCache;
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
  ctx: AssembleContext = {},
): Promise<AssembleResult> {
  const fs = cache.fs;
  const emit = services.emit ?? (() => undefined);
  if (await fs.lstat(root)) throw new XylemError(`${root}: the assembly folder already exists`, 'EEXIST');
  await fs.mkdir(root, { mode: 0o755 });
  const userMode = cache.mode !== 'bare';
  const previous = ctx.previous ?? null;
  // preserve-passwd: the ids of the previous commit are in place before any package lands; the
  // `setup` package (which ships /etc/passwd) then only adds files, as upstream checks it out.
  const seeded = await seedPasswd(fs, root, tf, previous);
  emit({ type: 'phase', phase: 'checkout', total: packages.length });
  const devino = new DevinoCache();
  for (const { pkg, commit } of packages)
    await checkout(cache, commit, root, { userMode, devino, overwrite: seeded && pkg.nevra.name === 'setup' ? 'add-files' : 'union-files' });
  await checkRealDirs(fs, root, POSTPROCESS_DIRS);
  const pkgs = packages.map((p) => p.pkg);
  // install-langs is rpm's %_install_langs: those files are never installed, so scripts do not see them.
  if (tf.installLangs !== null) await dropOtherLangs(fs, root, tf.installLangs, pkgs);
  if (ctx.layers && ctx.layers.layers.length > 0) await checkoutLayers(root, ctx.layers.repo, ctx.layers.layers, emit);
  if (pkgs.some(hasScripts)) {
    if (!services.scripts) throw new XylemError('The packages have scripts, and no script sandbox is available (Host.sandbox)', 'ENOSANDBOX');
    emit({ type: 'phase', phase: 'scripts', total: pkgs.length });
    // Scripts see the config as /etc, as upstream binds usr/etc there (moved back by moveEtc below).
    await etcForScripts(fs, root);
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
  if (tf.mutateOsRelease !== null) emit({ type: 'message', text: await mutateOsRelease(fs, root, tf.mutateOsRelease, ctx.version ?? null) });
  await removeFiles(fs, root, tf.removeFiles);
  await addFiles(fs, root, tf.addFiles, tf.externals);
  await removeFromPackages(fs, root, tf.removeFromPackages, pkgs);
  const scripts: Array<[string, Uint8Array]> = tf.postprocess.map((s, i) => [`postprocess[${i}]`, new TextEncoder().encode(s)]);
  if (tf.postprocessScript) scripts.push([tf.postprocessScript, tf.externals.find((e) => e.path === tf.postprocessScript)!.data]);
  if (scripts.length > 0) {
    if (!services.scripts) throw new XylemError('The treefile has postprocess scripts, and no script sandbox is available (Host.sandbox)', 'ENOSANDBOX');
    await etcForScripts(fs, root);
    for (const [name, body] of scripts) await services.scripts.runPostprocess(root, body, name);
    await moveEtc(fs, root);
    await checkRealDirs(fs, root, POSTPROCESS_DIRS);
  }
  await nsswitchAltfiles(fs, root);
  await splitPasswd(fs, root, tf.etcGroupMembers);
  const owners = headerOverrides(pkgs);
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const o of owners.values()) {
    users.add(o.user);
    groups.add(o.group);
  }
  for (const text of await checkPasswdGroups(fs, root, tf, previous, idUseOf(fs, root, users, groups))) emit({ type: 'message', text });
  await varToTmpfiles(fs, root);
  await mergePackageTmpfiles(fs, root);
  await rootfsSkeleton(fs, root, { tmpIsDir: tf.tmpIsDir });
  const kernel = await placeKernel(fs, root, tf.bootLocation, () => cache.createSha256(), async (kver) => {
    // machineid-compat (default true): an empty machine-id, which dracut reads.
    if (tf.machineidCompat) await writeFileAtomic(fs, joinPath(root, 'usr/etc/machine-id'), new Uint8Array(0), { mode: 0o444 });
    else await fs.rmrf(joinPath(root, 'usr/etc/machine-id'));
    if (tf.noInitramfs) return;
    if (!services.initramfs) throw new XylemError('The tree has a kernel and dracut needs a sandbox (Host.sandbox: bubblewrap); set `no-initramfs: true` to keep the packaged initramfs', 'ENOSANDBOX');
    emit({ type: 'message', text: `Generating initramfs for ${kver}` });
    await services.initramfs.buildInitramfs(root, kver, tf.initramfsArgs);
  });
  if (kernel && !kernel.initramfs) emit({ type: 'skipped', step: 'initramfs', reason: 'no-initramfs is set and the packages ship no initramfs' });
  return { kernel, devino };
}

/** usr/etc moved to etc (when there is no etc yet) so that sandboxed programs find it at /etc. */
async function etcForScripts(fs: Repo['fs'], root: string): Promise<void> {
  if ((await fs.lstat(joinPath(root, 'usr/etc')))?.kind === 'dir' && !(await fs.lstat(joinPath(root, 'etc')))) await fs.rename(joinPath(root, 'usr/etc'), joinPath(root, 'etc'));
}

/**
 * The ostree layers, as upstream after the packages and before the scripts: with usr/etc moved to
 * etc (a layer's /etc lands with the packages' config), `ostree-layers` where only identical files
 * may meet, then `ostree-override-layers` replacing files. Files are copied, never hardlinked to
 * the target repo's objects.
 */
async function checkoutLayers(root: string, repo: Repo, layers: ReadonlyArray<{ ref: string; commit: string; override: boolean }>, emit: (e: ComposeEvent) => void): Promise<void> {
  const fs = repo.fs;
  if ((await fs.lstat(joinPath(root, 'usr/etc')))?.kind === 'dir' && !(await fs.lstat(joinPath(root, 'etc')))) await fs.rename(joinPath(root, 'usr/etc'), joinPath(root, 'etc'));
  emit({ type: 'message', text: `Checking out ostree layers: ${layers.length}` });
  for (const l of layers) {
    try {
      await checkout(repo, l.commit, root, { userMode: true, forceCopy: true, disableCache: true, overwrite: l.override ? 'union-files' : 'union-identical' });
    } catch (e) {
      throw new XylemError(`${l.override ? 'ostree-override-layers' : 'ostree-layers'}: ${l.ref} (${l.commit}): ${(e as Error).message}`, (e as XylemError).code ?? 'EIO');
    }
  }
  await moveEtc(fs, root);
  await checkRealDirs(fs, root, POSTPROCESS_DIRS);
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
  /** What assembleRoot's checkouts hardlinked: those files are not read or hashed again (as upstream's devino cache). */
  devino?: DevinoCache;
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
    const modifier = { filter, xattrHook, ...(sepolicy ? { sepolicy } : {}), ...(opts.devino ? { devinoCache: opts.devino } : {}) };
    await importDirectory(makeImportContext(txn, modifier), root, tree);
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
