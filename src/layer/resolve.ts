// Resolving a layering request as rpm-ostree's client-side core does (rpmostree-core.cxx,
// reference note rpm-ostree.md §3.3): the base packages form the installed set and are LOCKED
// (layering never upgrades or removes them), minus the ones overridden away; requests the base
// already satisfies become inactive; the rest, local packages and local replacements are
// installed with their dependencies from the enabled rpm-md repos. When the lock is what makes
// the request unsolvable (a layered package needs a newer base library: rpm-ostree issue #415),
// the error names the base packages that would have to change and suggests a fix.

import type { Host } from '../host.ts';
import type { RpmmdRepoInfo } from '../compose/compose.ts';
import { repoTimestamp } from '../compose/resolve.ts';
import { loadRepos, readFilelists, readPrimary, type RepoConfig, type RepoMetadata, type RpmmdPackage } from '../rpmmd/index.ts';
import { readDependencies, type RpmPackage } from '../rpm/index.ts';
import { formatEvr, formatNevra, type Nevra } from '../rpm/types.ts';
import { createPool, solve, type Job } from '../solve/index.ts';
import { XylemError } from '../util/errors.ts';
import type { BasePackage } from './base.ts';
import { inSnapshot, type RpmmdSnapshot } from './snapshot.ts';

/** A local package (already in the package cache): its origin entry, cache ref and headers. */
export interface LocalPackage {
  entry: string;
  ref: string;
  pkg: RpmPackage;
}

/** A package the layer adds. */
export interface LayerPackage {
  nevra: Nevra;
  source: 'repo' | 'local';
  repoId: string;
  /** `sha256:hex` in its repo, or the header sha256 of a local package. */
  checksum: string;
  /** Download size (0 for local packages). */
  size: number;
  /** The repo's metadata and location (repo packages only). */
  md?: RepoMetadata;
  location?: { href: string; base: string | null };
  local?: LocalPackage;
}

export interface ResolveInput {
  base: readonly BasePackage[];
  /** `[packages] requested`. */
  packages: readonly string[];
  local: readonly LocalPackage[];
  /** `[overrides] remove`: base package names. */
  removes: readonly string[];
  replaceLocal: readonly LocalPackage[];
  /** Enabled repo configurations (from the deployment's yum.repos.d). */
  repos: readonly RepoConfig[];
  /** rpm-md metadata cache folder. */
  cacheDir: string;
  arch: string;
  /** Use the cached metadata whatever its age (no network unless missing). */
  cacheOnly?: boolean;
  /** Resolve against the base's rpm-md snapshot (src/layer/snapshot.ts): newer packages are left out. */
  snapshot?: RpmmdSnapshot;
}

export interface LayerResolution {
  add: LayerPackage[];
  /** Base packages taken out by `override remove`. */
  removed: BasePackage[];
  /** [replacement, replaced base package] of `override replace`. */
  replaced: Array<[LayerPackage, BasePackage]>;
  /** Requests the base already satisfies (kept in the origin, not layered). */
  inactive: string[];
  repos: RpmmdRepoInfo[];
  /** Loaded repo metadata by id (for downloads and gpgcheck). */
  loaded: Map<string, RepoMetadata>;
  /** With a snapshot: how many packages each recorded repo had past it (left out). */
  afterSnapshot: Map<string, number>;
  /** With a snapshot: enabled repos the base does not record (used as they are). */
  notInSnapshot: string[];
}

function localLayerPackage(l: LocalPackage): LayerPackage {
  return { nevra: l.pkg.nevra, source: 'local', repoId: 'commandline', checksum: l.entry.slice(0, 64), size: 0, local: l };
}

/** Whether the base satisfies `spec` (a name, a provide, or a file path). */
function satisfiedByBase(base: readonly BasePackage[], spec: string): boolean {
  for (const p of base) {
    if (p.nevra.name === spec || formatNevra(p.nevra) === spec) return true;
    if (spec.startsWith('/')) {
      if (p.files.some((f) => f.path === spec)) return true;
    } else if (p.deps.provides.some((d) => d.name === spec)) return true;
  }
  return false;
}

function byName(base: readonly BasePackage[], name: string, what: string): BasePackage {
  const p = base.find((b) => b.nevra.name === name);
  if (!p) throw new XylemError(`${what}: package '${name}' is not in the base`, 'ENOTINBASE');
  return p;
}

/** Resolves the request; downloads nothing but rpm-md metadata. */
export async function resolveLayer(host: Host, input: ResolveInput): Promise<LayerResolution> {
  if (!input || !Array.isArray(input.base)) throw new TypeError('resolveLayer: input with a base package set is required');
  const removed = input.removes.map((n) => byName(input.base, n, 'override remove'));
  const replaced: Array<[LayerPackage, BasePackage]> = input.replaceLocal.map((l) => [localLayerPackage(l), byName(input.base, l.pkg.nevra.name, `override replace ${formatNevra(l.pkg.nevra)}`)]);
  for (const [n, old] of replaced)
    if (formatNevra(n.nevra) === formatNevra(old.nevra)) throw new XylemError(`override replace: ${formatNevra(n.nevra)} is already in the base`, 'EINVAL');
  const gone = new Set<BasePackage>([...removed, ...replaced.map(([, o]) => o)]);
  const kept = input.base.filter((p) => !gone.has(p));
  const inactive = input.packages.filter((s) => satisfiedByBase(kept, s));
  const wanted = input.packages.filter((s) => !inactive.includes(s));
  const needRepos = wanted.length > 0 || input.local.length > 0 || replaced.length > 0 || removed.length > 0;

  const pool = createPool();
  const system = pool.addRepo('@System', { installed: true });
  for (const p of kept) pool.addPackage(p.nevra, p.deps, { repo: system, files: p.files.map((f: { path: string }) => f.path) });
  const cmdline = pool.addRepo('@commandline', { priority: 1 });
  const locals = new Map<number, LayerPackage>();
  for (const lp of [...input.local.map(localLayerPackage), ...replaced.map(([n]) => n)]) {
    const l = lp.local!;
    const id = pool.addPackage(l.pkg.nevra, readDependencies(l.pkg.header), { repo: cmdline, files: l.pkg.files().map((f) => f.path) });
    locals.set(id, lp);
  }
  const loaded = new Map<string, RepoMetadata>();
  const located = new Map<number, { md: RepoMetadata; p: RpmmdPackage }>();
  const repoInfo: RpmmdRepoInfo[] = [];
  const afterSnapshot = new Map<string, number>();
  /** Name → a NEVRA of it the snapshot left out (for the error hint). */
  const leftOut = new Map<string, string>();
  const notInSnapshot: string[] = [];
  if (needRepos && input.repos.some((r) => r.enabled)) {
    const { loaded: mds } = await loadRepos(host, input.repos, { cacheDir: input.cacheDir, types: ['primary', 'filelists'], ...(input.cacheOnly ? { refresh: false } : {}) });
    const fileDeps = new Set<string>(wanted.filter((s) => s.startsWith('/')));
    const byPkgid = new Map<string, number>();
    for (const md of mds) {
      loaded.set(md.repo.id, md);
      const at = input.snapshot?.get(md.repo.id);
      const now = repoTimestamp(md);
      // What the layer was resolved from: the snapshot's time when that is older than the repo.
      repoInfo.push({ id: md.repo.id, timestamp: at !== undefined && BigInt(at) < now ? BigInt(at) : now });
      const repo = pool.addRepo(md.repo.id, { priority: md.repo.priority ?? 99 });
      if (input.snapshot && at === undefined) notInSnapshot.push(md.repo.id);
      await readPrimary(host, md, (p: RpmmdPackage) => {
        if (p.arch === 'src' || p.arch === 'nosrc') return;
        if (at !== undefined && !inSnapshot(p.time, at)) {
          afterSnapshot.set(md.repo.id, (afterSnapshot.get(md.repo.id) ?? 0) + 1);
          leftOut.set(p.name, formatNevra({ name: p.name, epoch: p.epoch === 0 ? null : p.epoch, version: p.version, release: p.release, arch: p.arch }));
          return;
        }
        const id = pool.addPackage({ name: p.name, epoch: p.epoch === 0 ? null : p.epoch, version: p.version, release: p.release, arch: p.arch }, p, {
          repo,
          files: p.files.map((f) => f.path),
          location: p.location.href,
          packageSize: p.size.package,
          installedSize: p.size.installed,
        });
        located.set(id, { md, p: { ...p, files: [] } });
        byPkgid.set(`${md.repo.id}\0${p.checksum.value}`, id);
        for (const d of p.requires) if (d.name.startsWith('/')) fileDeps.add(d.name);
      });
    }
    const owners = new Map<string, number[]>();
    for (const md of mds) {
      if (!md.files.has('filelists') || fileDeps.size === 0) continue;
      await readFilelists(host, md, (f) => {
        const id = byPkgid.get(`${md.repo.id}\0${f.pkgid}`);
        if (id === undefined) return;
        for (const file of f.files) if (fileDeps.has(file.path)) (owners.get(file.path) ?? owners.set(file.path, []).get(file.path)!).push(id);
      });
    }
    pool.setFilelistsProvider((path) => owners.get(path) ?? []);
  }

  const jobs: Job[] = kept.map((p) => ({ op: 'lock', what: { nevra: formatNevra(p.nevra) } }) as Job);
  for (const s of wanted) jobs.push({ op: 'install', what: s.startsWith('/') ? { file: s } : { spec: s } });
  for (const lp of locals.values()) jobs.push({ op: 'install', what: { nevra: formatNevra(lp.nevra) } });
  const r = solve(pool, jobs, { arch: input.arch, installWeakDeps: true });
  if (!r.ok) {
    let text = `Could not depsolve transaction; ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} detected:\n${r.text}`;
    text += skewHint(pool, jobs.filter((j) => j.op !== 'lock'), input.arch);
    text += snapshotHint(r.text, wanted, leftOut, input.snapshot);
    throw new XylemError(text, 'EDEPSOLVE');
  }
  if (r.upgrade.length + r.downgrade.length + r.erase.length > 0)
    throw new XylemError(`Layering would change base packages (${[...r.upgrade, ...r.downgrade, ...r.erase].map((i) => formatNevra(i.nevra)).join(', ')}); base packages are locked`, 'EDEPSOLVE');
  const add: LayerPackage[] = [];
  const replacements = new Set(replaced.map(([n]) => n));
  for (const item of r.install) {
    const lp = locals.get(item.pkg);
    if (lp) {
      if (!replacements.has(lp)) add.push(lp);
      continue;
    }
    const loc = located.get(item.pkg);
    if (!loc) throw new XylemError(`Internal error: ${formatNevra(item.nevra)} has no source`, 'EINTERNAL');
    add.push({
      nevra: item.nevra,
      source: 'repo',
      repoId: loc.md.repo.id,
      checksum: `${loc.p.checksum.type}:${loc.p.checksum.value}`,
      size: loc.p.size.package,
      md: loc.md,
      location: loc.p.location,
    });
  }
  return { add, removed, replaced, inactive, repos: repoInfo, loaded, afterSnapshot, notInSnapshot };
}

/** Names the packages the snapshot left out that the failed request or its problems mention. */
function snapshotHint(problems: string, wanted: readonly string[], leftOut: ReadonlyMap<string, string>, snapshot: RpmmdSnapshot | undefined): string {
  if (!snapshot || leftOut.size === 0) return '';
  const words = new Set([...wanted, ...(problems.match(/[A-Za-z0-9_.+-]+/g) ?? [])]);
  const named = [...leftOut].filter(([name]) => words.has(name)).map(([, nevra]) => nevra);
  if (named.length === 0) return '';
  return (
    `\nLeft out because they are newer than the base's rpm-md snapshot (--base-snapshot): ${named.join(', ')}.` +
    `\nUpgrade the base to one composed from newer metadata, or layer without --base-snapshot.`
  );
}

/**
 * Why an unsolvable request fails when the lock is the cause: solved again without locks, the
 * base packages it would upgrade or remove are named, with the fix rpm-ostree users apply.
 */
function skewHint(pool: ReturnType<typeof createPool>, jobs: Job[], arch: string): string {
  const r = solve(pool, jobs, { arch, installWeakDeps: true });
  if (!r.ok || r.upgrade.length + r.downgrade.length + r.erase.length === 0) return '';
  const changes = [
    ...r.upgrade.map((u) => `${u.replacesNevra.name} ${formatEvr(u.replacesNevra)} in the base -> ${formatEvr(u.nevra)} (from ${u.repo})`),
    ...r.downgrade.map((u) => `${u.replacesNevra.name} ${formatEvr(u.replacesNevra)} in the base -> ${formatEvr(u.nevra)} (from ${u.repo})`),
    ...r.erase.map((e) => `${formatNevra(e.nevra)} would have to be removed from the base`),
  ];
  const needing = r.install.map((i) => formatNevra(i.nevra));
  return (
    `\nVersion skew between the base and the rpm-md repos: ${needing.join(', ')} need${needing.length === 1 ? 's' : ''} base packages the base cannot provide ` +
    `(base packages are locked):\n${changes.map((c) => `  ${c}`).join('\n')}\n` +
    `Suggested fix: upgrade the base first (rpm-xylem upgrade) to one carrying ${r.upgrade.map((u) => `${u.nevra.name} >= ${formatEvr(u.nevra)}`).join(', ') || 'those versions'}, ` +
    `or layer a version of the package built for this base.`
  );
}
