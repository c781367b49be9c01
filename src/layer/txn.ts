// The layering transaction behind `install`, `uninstall`, `override remove|replace|reset` and
// `reset`, as rpm-ostree's daemon runs them (rpmostree-sysroot-upgrader.cxx): the origin's request
// is changed, the base (the parent of a layered commit, else the deployment's commit) is found,
// the request resolved with the base locked, packages imported, the layered commit built — or,
// when nothing is left layered, the base itself used — and the result deployed with the existing
// deploy path (staged on a booted system) under the caller's transaction lock. Any failure before
// the deploy leaves the boot set untouched: nothing is published.

import { KeyFile } from '../format/keyfile.ts';
import { composeServices } from '../compose/services.ts';
import { checkout } from '../repo/checkout.ts';
import { listLocalRefs, setRef } from '../repo/refs.ts';
import type { Repo } from '../repo/repo.ts';
import { readRepoDir, type RepoConfig } from '../rpmmd/index.ts';
import { formatNevra } from '../rpm/types.ts';
import type { Deployment } from '../sysroot/deployment.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import { deployNew, resolveOsname, type TxnContext, type TxnResult } from '../updater/operations.ts';
import { randomSuffix } from '../util/atomic-write.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { openCachedPackage } from '../compose/open.ts';
import { readBasePackages, type BasePackage } from './base.ts';
import { buildLayeredCommit } from './build.ts';
import { importLayerPackages, importLocalRpm } from './import.ts';
import { isLayered, parseLocalEntry, readLayerRequest, writeLayerRequest, type LayerRequest } from './origin.ts';
import { applyChange, type LayerChange } from './change.ts';
import { resolveLayer, type LocalPackage } from './resolve.ts';
import { pkgcacheRef } from '../compose/escape.ts';
import { readBaseSnapshot, readSnapshotPolicy, writeSnapshotPolicy } from './snapshot.ts';
import { applyInitramfsChange, emptyInitramfsRequest, needsInitramfs, readInitramfsRequest, writeInitramfsRequest, type InitramfsRequest } from './initramfs-origin.ts';
import { baseInitramfsArgs, checkInitramfsRequest, clientDracutArgs, regenerateInitramfs, stageEtcOverlay } from './initramfs.ts';

export type { LayerChange } from './change.ts';

export interface LayerTxnOptions {
  /** .repo folder (default: the merge deployment's /etc/yum.repos.d). */
  reposDir?: string;
  /** rpm-md cache (default: the stateroot's /var/cache/rpm-ostree). */
  cacheDir?: string;
  /** Use cached rpm-md metadata whatever its age. */
  cacheOnly?: boolean;
  /** Resolve and report, deploy nothing. */
  dryRun?: boolean;
  /** Architecture to resolve for (default: the base packages' own). */
  arch?: string;
  /** New base commit (upgrade): re-resolve the layer on it. */
  newBase?: string;
  /**
   * Resolve against the base's rpm-md snapshot (src/layer/snapshot.ts) and record that in the
   * origin (true), stop doing so (false); unset: what the origin says.
   */
  baseSnapshot?: boolean;
}

export interface LayerTxnResult extends TxnResult {
  /** The commit deployed (the layered commit, or the base when nothing is layered). */
  commit?: string;
  added: string[];
  removed: string[];
  replaced: Array<[string, string]>;
  inactive: string[];
}

/** The base commit of a deployment's commit: its parent when it is a client layer. */
export async function baseCommitOf(repo: Repo, csum: string): Promise<string> {
  const c = await repo.loadCommit(csum);
  const layered = c.metadata.find(([k]) => k === 'rpmostree.clientlayer');
  if (layered && layered[1].type === 'b' && layered[1].value === true) {
    if (!c.parent) throw new XylemError(`${csum}: a client-layer commit without a parent (base) commit`, 'ECORRUPT');
    return c.parent;
  }
  return csum;
}

/** Reads the base package set of `commit` (its rpmdb only is checked out). */
export async function loadBasePackages(sysroot: Sysroot, repo: Repo, commit: string): Promise<BasePackage[]> {
  const dir = joinPath(repo.path, 'tmp', `xylem-layer-rpmdb-${randomSuffix()}`);
  try {
    await sysroot.fs.mkdir(joinPath(dir, 'usr/share'), { recursive: true, mode: 0o755 });
    await checkout(repo, commit, joinPath(dir, 'usr/share/rpm'), { subpath: '/usr/share/rpm', userMode: true, forceCopy: true }).catch((e) => {
      throw new XylemError(`The base commit ${commit} has no rpmdb (usr/share/rpm): ${(e as Error).message}`, 'ENORPMDB');
    });
    return await readBasePackages(sysroot.host, dir);
  } finally {
    await sysroot.fs.rmrf(dir).catch(() => undefined);
  }
}

function mergeDeployment(sysroot: Sysroot, osname: string): Deployment {
  const d = sysroot.deployments.find((x) => x.osname === osname);
  if (!d) throw new XylemError(`No deployments found for OS '${osname}'`);
  return d;
}

async function osReleaseVar(sysroot: Sysroot, root: string): Promise<string | null> {
  for (const p of ['usr/lib/os-release', 'etc/os-release']) {
    const st = await sysroot.fs.stat(joinPath(root, p)).catch(() => null);
    if (!st || st.kind !== 'file' || st.size > 65536) continue;
    const m = /^VERSION_ID="?([^"\n]*)"?$/m.exec(new TextDecoder().decode(await sysroot.fs.readFile(joinPath(root, p))));
    if (m) return m[1]!;
  }
  return null;
}

function guessArch(base: readonly BasePackage[]): string {
  const counts = new Map<string, number>();
  for (const p of base) if (p.nevra.arch !== 'noarch') counts.set(p.nevra.arch, (counts.get(p.nevra.arch) ?? 0) + 1);
  let best = 'x86_64';
  let n = 0;
  for (const [a, c] of counts) if (c > n) [best, n] = [a, c];
  return best;
}

/** Keeps the base commits of layered deployments alive: refs rpmostree/base/0…N (stale ones dropped). */
export async function updateBaseRefs(repo: Repo, bases: readonly string[]): Promise<void> {
  const uniq = [...new Set(bases)];
  for (let i = 0; i < uniq.length; i++) await setRef(repo, null, `rpmostree/base/${i}`, uniq[i]!);
  const existing = await listLocalRefs(repo, 'rpmostree/base').catch(() => []);
  for (const r of existing) {
    const m = /^rpmostree\/base\/(\d+)$/.exec(r.ref);
    if (m && Number(m[1]) >= uniq.length) await setRef(repo, null, r.ref, null);
  }
}

/** Runs one layering change as a transaction; see the file header. */
export async function layerTxn(ctx: TxnContext, change: LayerChange, opts: LayerTxnOptions = {}): Promise<LayerTxnResult> {
  const { sysroot } = ctx;
  const host = sysroot.host;
  const osname = await resolveOsname(sysroot, ctx.osname);
  const om = mergeDeployment(sysroot, osname);
  const origin = om.origin ? KeyFile.parse(om.origin.toString()) : new KeyFile();
  const originPath = sysroot.abs(`ostree/deploy/${osname}/deploy/${om.csum}.${om.deployserial}.origin`);
  const current = readLayerRequest(origin, originPath);
  const repo = await sysroot.repo();
  // A staged deployment's /etc is merged only at shutdown: repos and keys come from the booted one's.
  const deployRoot = sysroot.deploymentPath(om.staged ? (sysroot.mergeDeployment(osname) ?? om) : om);
  const baseCommit = opts.newBase ?? (await baseCommitOf(repo, om.csum));
  ctx.progress('layering', 'loading the base package set');
  const base = await loadBasePackages(sysroot, repo, baseCommit);
  ctx.token.throwIfCancelled();
  // Local .rpm files go into the package cache first (the cache is not the boot set).
  const localImports = new Map<string, string>();
  for (const path of [...(change.installLocal ?? []), ...(change.replaceLocal ?? [])]) {
    const r = await importLocalRpm(host, repo, path);
    localImports.set(path, r.entry);
  }
  const next: LayerRequest = applyChange(current, change, base, localImports);
  const curInit = readInitramfsRequest(origin, originPath);
  const nextInit = change.resetInitramfs ? emptyInitramfsRequest() : change.initramfs ? applyInitramfsChange(curInit, change.initramfs) : curInit;
  checkInitramfsRequest(nextInit);
  const result: LayerTxnResult = { changed: false, added: [], removed: [], replaced: [], inactive: [] };
  const wasSnapshot = readSnapshotPolicy(origin);
  const useSnapshot = opts.baseSnapshot ?? wasSnapshot;
  const same = JSON.stringify(next) === JSON.stringify(current) && JSON.stringify(nextInit) === JSON.stringify(curInit) && useSnapshot === wasSnapshot;
  if (!opts.newBase && !change.resetInitramfs && !change.forceSync && same) {
    ctx.out('No changes.');
    return result;
  }
  // rpm-ostree assembles locally for packages, a regenerated initramfs or tracked /etc files.
  const localAssembly = isLayered(next) || needsInitramfs(nextInit);
  // The system's current /etc: the booted deployment's, else the merge deployment's.
  const etcDir = joinPath(sysroot.deploymentPath(sysroot.mergeDeployment(osname) ?? om), 'etc');
  // Tracked /etc files: one overlay initrd, built and staged first from the system's current /etc
  // (a bad path is refused before any assembly; a staged file nothing names is harmless).
  const overlay = opts.dryRun ? null : await stageEtcOverlay(sysroot, etcDir, nextInit);
  if (overlay) ctx.out('Generating initramfs overlay... done');
  let target = baseCommit;
  if (localAssembly && !isLayered(next) && opts.dryRun) {
    ctx.out('Exiting because of \'--dry-run\' option');
    return result;
  }
  if (localAssembly) {
    const resolved = isLayered(next);
    const reposDir = opts.reposDir ?? joinPath(deployRoot, 'etc/yum.repos.d');
    const arch = opts.arch ?? guessArch(base);
    const vars: Record<string, string> = { basearch: arch, arch };
    const rv = await osReleaseVar(sysroot, deployRoot);
    if (rv !== null) vars.releasever = rv;
    const repos: RepoConfig[] = (await sysroot.fs.lstat(reposDir)) ? await readRepoDir(host, reposDir, vars) : [];
    const cacheDir = opts.cacheDir ?? sysroot.abs(`ostree/deploy/${osname}/var/cache/rpm-ostree`);
    const locals = async (entries: string[]): Promise<LocalPackage[]> => {
      const out: LocalPackage[] = [];
      for (const e of entries) {
        const { nevra } = parseLocalEntry(e, originPath);
        const ref = pkgcacheRef(parseNevraLoose(nevra));
        out.push({ entry: e, ref, pkg: (await openCachedPackage(repo, ref)) as LocalPackage['pkg'] });
      }
      return out;
    };
    const snapshot = useSnapshot && resolved ? await readBaseSnapshot(repo, baseCommit) : undefined;
    ctx.progress('layering', 'resolving dependencies');
    if (resolved && repos.some((r) => r.enabled)) ctx.out(`Enabled rpm-md repositories: ${repos.filter((r) => r.enabled).map((r) => r.id).join(' ')}`);
    const res = !resolved ? { add: [], removed: [], replaced: [], inactive: [], repos: [], afterSnapshot: new Map<string, number>(), notInSnapshot: [] } : await resolveLayer(host, {
      base,
      packages: next.packages,
      local: await locals(next.local),
      removes: next.removes,
      replaceLocal: await locals(next.replaceLocal),
      repos,
      cacheDir: joinPath(cacheDir, 'repomd'),
      arch,
      cacheOnly: opts.cacheOnly === true,
      ...(snapshot ? { snapshot } : {}),
    });
    ctx.token.throwIfCancelled();
    if (snapshot) {
      for (const [id, n] of res.afterSnapshot) ctx.out(`Base rpm-md snapshot: left out ${n} package${n === 1 ? '' : 's'} of '${id}' newer than the base's metadata`);
      for (const id of res.notInSnapshot) ctx.out(`Base rpm-md snapshot: repo '${id}' is not recorded by the base; used as it is`);
    }
    result.added = res.add.map((p) => formatNevra(p.nevra));
    result.removed = res.removed.map((p) => formatNevra(p.nevra));
    result.replaced = res.replaced.map(([n, o]) => [formatNevra(n.nevra), formatNevra(o.nevra)]);
    result.inactive = res.inactive;
    const dl = res.add.filter((p) => p.source === 'repo');
    if (dl.length) ctx.out(`Will download: ${dl.length} package${dl.length === 1 ? '' : 's'} (${dl.reduce((s, p) => s + p.size, 0)} bytes)`);
    if (opts.dryRun) {
      printChanges(ctx, result);
      ctx.out('Exiting because of \'--dry-run\' option');
      return result;
    }
    ctx.progress('layering', 'importing packages');
    const cached = await importLayerPackages(host, repo, [...res.add, ...res.replaced.map(([n]) => n)], {
      keyRoot: deployRoot,
      cacheDir: joinPath(cacheDir, 'packages'),
      onImport: (n, c) => ctx.progress('layering', `${c ? 'cached' : 'imported'} ${n}`),
    });
    ctx.token.throwIfCancelled();
    const added = cached.slice(0, res.add.length);
    const repl = res.replaced.map(([, o], i) => [cached[res.add.length + i]!, o] as [(typeof cached)[number], BasePackage]);
    ctx.progress('layering', 'assembling the layered tree');
    const services = composeServices(host);
    target = await buildLayeredCommit(host, repo, {
      baseCommit,
      request: next,
      base,
      removed: res.removed,
      replaced: repl,
      added,
      repos: res.repos,
      workdir: joinPath(repo.path, 'tmp', `xylem-layer-${randomSuffix()}`),
      ...(services.scripts ? { scripts: services.scripts } : {}),
      ...(nextInit.regenerate ? { afterAssembly: initramfsStep(ctx, repo, baseCommit, nextInit, etcDir) } : {}),
    });
    ctx.out(`Writing OSTree commit... done`);
  } else if (opts.dryRun) {
    ctx.out('Exiting because of \'--dry-run\' option');
    return result;
  }
  writeLayerRequest(origin, next, localAssembly);
  writeSnapshotPolicy(origin, useSnapshot);
  writeInitramfsRequest(origin, nextInit);
  const originChanged = origin.toString() !== (om.origin?.toString() ?? '');
  if (target === om.csum && !originChanged && !change.forceSync && nextInit.etc.length === 0) {
    ctx.out('No changes.');
    return result;
  }
  ctx.token.throwIfCancelled();
  // Keep every layered deployment's base (and the new one's) alive before publishing.
  const bases: string[] = [];
  if (target !== baseCommit) bases.push(baseCommit);
  for (const d of sysroot.deployments) {
    const b = await baseCommitOf(repo, d.csum).catch(() => d.csum);
    if (b !== d.csum) bases.push(b);
  }
  await updateBaseRefs(repo, bases);
  ctx.token.throwIfCancelled();
  const d = await deployNew(ctx, { osname, revision: target, origin, stage: true, overlayInitrds: overlay ? [overlay] : null });
  printChanges(ctx, result);
  return { ...result, changed: true, deployment: d, commit: target };
}

/** The client-side dracut run of a layered build (initramfs.ts), with the base's and the origin's args. */
function initramfsStep(ctx: TxnContext, repo: Repo, baseCommit: string, r: InitramfsRequest, etcDir: string): (root: string) => Promise<void> {
  return async (root) => {
    ctx.progress('layering', 'generating the initramfs');
    ctx.out('Generating initramfs...');
    const args = clientDracutArgs(await baseInitramfsArgs(repo, baseCommit), r.args);
    await regenerateInitramfs(ctx.sysroot.host, root, { args, etcDir });
    ctx.token.throwIfCancelled();
  };
}

function printChanges(ctx: TxnContext, r: LayerTxnResult): void {
  if (r.inactive.length) ctx.out(`Inactive requests:\n${r.inactive.map((x) => `  ${x} (already provided by base)`).join('\n')}`);
  if (r.added.length) ctx.out(`Added:\n${r.added.map((x) => `  ${x}`).join('\n')}`);
  if (r.removed.length) ctx.out(`Removed:\n${r.removed.map((x) => `  ${x}`).join('\n')}`);
  if (r.replaced.length) ctx.out(`Replaced:\n${r.replaced.map(([n, o]) => `  ${o} -> ${n}`).join('\n')}`);
}

/** `name-[E:]V-R.A` split from the right (names may contain dashes). */
export function parseNevraLoose(s: string): { name: string; epoch: number | null; version: string; release: string; arch: string } {
  const m = /^(.+)-(?:(\d+):)?([^-:]+)-([^-]+)\.([^.]+)$/.exec(s);
  if (!m) throw new XylemError(`'${s}' is not a NEVRA`, 'EINVAL');
  return { name: m[1]!, epoch: m[2] !== undefined ? Number(m[2]) : null, version: m[3]!, release: m[4]!, arch: m[5]! };
}
