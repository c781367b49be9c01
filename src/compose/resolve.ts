// Turning a treefile into packages as rpm-ostree does: the repos it names come from the `*.repo`
// files beside the treefile (never the host's yum.repos.d), their metadata is loaded into the
// cache (src/rpmmd), every package goes into a solver pool (src/solve) and the treefile's
// `packages` are installed (`exclude-packages` excluded, `recommends` as install_weak_deps).
// File requires are answered from filelists, keeping only the paths some package requires.
// Packages are downloaded only when the plan imports them (ResolvedPackage.open).

import type { Host } from '../host.ts';
import { checkRepoPackage, fetchPackage, loadRepos, repoKeys, readFilelists, readPrimary, readRepoDir, readUpdateinfo, type Advisory, type RepoMetadata, type RpmmdPackage } from '../rpmmd/index.ts';
import { isSecurity } from './advisories.ts';
import { createPool, solve, type Job } from '../solve/index.ts';
import { formatNevra } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';
import { dirname } from '../util/path.ts';
import type { PackageResolver, Resolution, ResolvedPackage } from './compose.ts';
import { openRpmFile } from './open.ts';
import type { Treefile } from './treefile.ts';
import { evrText, isLocked, lockAllows, type Lockfile } from './lockfile.ts';

export interface RpmmdResolverOptions {
  /** The treefile's path: its folder holds the `*.repo` files. */
  treefilePath: string;
  /** Cache folder for rpm-md metadata and downloaded packages. */
  cacheDir: string;
  /** Architecture to solve for (default the treefile's basearch). */
  arch?: string;
  /** Use the cached metadata as is (`--cache-only`). */
  cacheOnly?: boolean;
  /** `--ex-lockfile` (merged) and `--ex-lockfile-strict`: packages restricted as lockfile.ts says. */
  lockfile?: Lockfile;
  /** Where rpm-ostree's warnings go (a locked package not found in any repo). */
  onWarning?: (line: string) => void;
  /** Root that gpgkey=file:// URLs resolve in (default `/`: the build host's own keys). */
  gpgKeyRoot?: string;
}

interface Located {
  md: RepoMetadata;
  name: string;
  checksum: { type: string; value: string };
  size: { package: number };
  location: { href: string; base: string | null };
  sourcerpm: string;
}

/** The repodata generation time rpm-ostree records: the newest timestamp of repomd.xml's data. */
export function repoTimestamp(md: RepoMetadata): bigint {
  let t = 0;
  for (const d of md.repomd.data) if (d.timestamp !== null && d.timestamp > t) t = d.timestamp;
  return BigInt(Math.floor(t));
}

export function rpmmdResolver(host: Host, opts: RpmmdResolverOptions): PackageResolver {
  // Each gpgcheck=1 repo's keys, read once per compose.
  const keys = new Map<string, Promise<Uint8Array[]>>();
  const keysOf = (md: RepoMetadata): Promise<Uint8Array[]> => {
    let k = keys.get(md.repo.id);
    if (!k) keys.set(md.repo.id, (k = repoKeys(host, md, opts.gpgKeyRoot ?? '/')));
    return k;
  };
  return {
    async resolve(tf: Treefile): Promise<Resolution> {
      const vars: Record<string, string> = { basearch: tf.basearch, arch: tf.basearch, ...tf.repovars };
      if (tf.releasever !== null) vars.releasever = tf.releasever;
      const configs = await readRepoDir(host, dirname(opts.treefilePath), vars);
      const wanted = [];
      for (const id of tf.repos) {
        const c = configs.find((r) => r.id === id);
        if (!c) throw new XylemError(`Unknown rpm-md repository: ${id} (no ${id} in the .repo files beside ${opts.treefilePath})`, 'ENOENT');
        wanted.push({ ...c, enabled: true });
      }
      // lockfile-repos are enabled only with a lockfile, and give only locked packages.
      const lockRepoIds = new Set<string>();
      if (opts.lockfile)
        for (const id of tf.lockfileRepos) {
          if (tf.repos.includes(id)) continue;
          const c = configs.find((r) => r.id === id);
          if (!c) throw new XylemError(`Unknown rpm-md repository: ${id} (lockfile-repos; no ${id} in the .repo files beside ${opts.treefilePath})`, 'ENOENT');
          wanted.push({ ...c, enabled: true });
          lockRepoIds.add(id);
        }
      if (wanted.length === 0) throw new XylemError(`${opts.treefilePath}: the treefile enables no rpm-md repository (\`repos\`)`, 'EINVAL');
      const { loaded } = await loadRepos(host, wanted, { cacheDir: `${opts.cacheDir}/repomd`, types: ['primary', 'filelists', 'updateinfo'], ...(opts.cacheOnly ? {} : { refresh: false }) });
      const pool = createPool();
      const lockedSeen = new Set<string>();
      // repo-packages: those names come from their repo only.
      const pinnedRepo = new Map<string, string>();
      for (const rp of tf.repoPackages) {
        if (!loaded.some((md) => md.repo.id === rp.repo)) throw new XylemError(`repo-packages: repo '${rp.repo}' is not enabled (add it to \`repos\`)`, 'ENOENT');
        for (const spec of rp.packages) pinnedRepo.set(spec.split(/[\s<>=]/)[0]!, rp.repo);
      }
      const pinnedFound = new Set<string>();
      const located = new Map<number, Located>();
      const byPkgid = new Map<string, number>();
      const fileDeps = new Set<string>();
      for (const md of loaded) {
        const repo = pool.addRepo(md.repo.id, { priority: md.repo.priority ?? 99 });
        await readPrimary(host, md, (p: RpmmdPackage) => {
          if (p.arch === 'src' || p.arch === 'nosrc') return;
          const pin = pinnedRepo.get(p.name);
          if (pin !== undefined) {
            if (pin !== md.repo.id) return;
            pinnedFound.add(p.name);
          }
          if (opts.lockfile) {
            const evr = evrText(p.epoch === 0 ? null : p.epoch, p.version, p.release);
            const digest = `${p.checksum.type}:${p.checksum.value}`;
            if (isLocked(opts.lockfile, p.name, evr, p.arch, digest)) lockedSeen.add(p.name);
            if (!lockAllows(opts.lockfile, p.name, evr, p.arch, digest, lockRepoIds.has(md.repo.id))) return;
          }
          const id = pool.addPackage(
            { name: p.name, epoch: p.epoch === 0 ? null : p.epoch, version: p.version, release: p.release, arch: p.arch },
            p,
            { repo, files: p.files.map((f) => f.path), location: p.location.href, packageSize: p.size.package, installedSize: p.size.installed },
          );
          located.set(id, { md, name: p.name, checksum: p.checksum, size: p.size, location: p.location, sourcerpm: p.sourcerpm });
          byPkgid.set(`${md.repo.id}\0${p.checksum.value}`, id);
          for (const list of [p.requires, p.recommends, p.conflicts, p.supplements])
            for (const d of list) if (d.name.startsWith('/')) fileDeps.add(d.name);
        });
      }
      // Only the paths some package depends on are kept from filelists.
      const owners = new Map<string, number[]>();
      for (const md of loaded) {
        if (!md.files.has('filelists') || fileDeps.size === 0) continue;
        await readFilelists(host, md, (f) => {
          const id = byPkgid.get(`${md.repo.id}\0${f.pkgid}`);
          if (id === undefined) return;
          for (const file of f.files) {
            if (!fileDeps.has(file.path)) continue;
            const l = owners.get(file.path);
            if (l) l.push(id);
            else owners.set(file.path, [id]);
          }
        });
      }
      if (opts.lockfile)
        for (const name of [...opts.lockfile.packages.keys()].sort())
          if (!lockedSeen.has(name)) {
            const l = opts.lockfile.packages.get(name)!;
            opts.onWarning?.(`warning: Couldn't find locked package '${name}-${l.evr}${l.arch ? `.${l.arch}` : ''}'${l.digest ? ` with checksum ${l.digest}` : ''}`);
          }
      pool.setFilelistsProvider((path) => owners.get(path) ?? []);
      for (const rp of tf.repoPackages)
        for (const spec of rp.packages) if (!pinnedFound.has(spec.split(/[\s<>=]/)[0]!)) throw new XylemError(`No matches for '${spec}' in repo '${rp.repo}'`, 'ENOENT');
      const jobs: Job[] = [];
      for (const x of tf.excludePackages) jobs.push({ op: 'exclude', what: { spec: x } });
      for (const p of tf.packages) jobs.push({ op: 'install', what: { spec: p } });
      for (const rp of tf.repoPackages) for (const p of rp.packages) jobs.push({ op: 'install', what: { spec: p } });
      const r = solve(pool, jobs, { arch: opts.arch ?? tf.basearch, installWeakDeps: tf.recommends });
      if (!r.ok) throw new XylemError(`Could not depsolve transaction; ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} detected:\n${r.text}`, 'EDEPSOLVE');
      const packages: ResolvedPackage[] = r.install.map((item) => {
        const loc = located.get(item.pkg)!;
        return {
          nevra: item.nevra,
          repoId: loc.md.repo.id,
          checksum: `${loc.checksum.type}:${loc.checksum.value}`,
          ...(loc.sourcerpm ? { sourcerpm: loc.sourcerpm } : {}),
          async open() {
            const path = await fetchPackage(host, loc.md, loc);
            const pkg = await openRpmFile(host.fs, path);
            try {
              // The repo's gpgcheck, as dnf applies it: digests always, signatures with gpgcheck=1.
              const gpg = loc.md.repo.gpgcheck ? { keys: await keysOf(loc.md) } : null;
              const native = host.hash;
              await checkRepoPackage(pkg, `${formatNevra(item.nevra)} (repo '${loc.md.repo.id}')`, gpg, native ? () => native.createSha256() : undefined);
            } catch (e) {
              await pkg.close();
              throw e;
            }
            return pkg;
          },
        };
      });
      // Security advisories naming an installed package exactly, for rpmostree.advisories.
      const installedKeys = new Set(packages.map((p) => `${p.nevra.name}\0${p.nevra.epoch ?? 0}\0${p.nevra.version}\0${p.nevra.release}\0${p.nevra.arch}`));
      const advisories: Advisory[] = [];
      for (const md of loaded) {
        if (!md.files.has('updateinfo')) continue;
        await readUpdateinfo(host, md, (a: Advisory) => {
          if (!isSecurity(a)) return;
          if (a.collections.some((c) => c.packages.some((p) => installedKeys.has(`${p.name}\0${p.epoch}\0${p.version}\0${p.release}\0${p.arch}`)))) advisories.push(a);
        });
      }
      return { repos: loaded.map((md) => ({ id: md.repo.id, timestamp: repoTimestamp(md) })), packages, advisories };
    },
  };
}
