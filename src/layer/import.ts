// Getting layered packages into the package cache (the system repo, refs rpmostree/pkg/…), as
// rpm-ostree's client does before assembling: a package whose ref already exists with the same
// repodata checksum is reused (re-layering after an upgrade downloads nothing twice); others are
// downloaded from their rpm-md repo, checked against the repo's gpgcheck — an unsigned or badly
// signed package from a gpgcheck=1 repo is refused — and imported (src/compose/pkgcache). Local
// .rpm files are verified (digests must hold) and imported under their header's sha256.

import type { Host } from '../host.ts';
import { importPackage, openCachedPackage, pkgcacheRef } from '../compose/index.ts';
import type { ComposePackage } from '../compose/package.ts';
import { resolveRev } from '../repo/refs.ts';
import type { Repo } from '../repo/repo.ts';
import { openRpm, type RpmPackage } from '../rpm/index.ts';
import { checkRepoPackage, fetchPackage, repoKeys } from '../rpmmd/index.ts';
import { formatNevra } from '../rpm/types.ts';
import { toHex } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import type { LayerPackage } from './resolve.ts';

/** A layered package ready for assembly: its cache commit and headers. */
export interface CachedLayerPackage {
  lp: LayerPackage;
  commit: string;
  pkg: ComposePackage;
}

export interface ImportLayerOptions {
  /** Folder `file:///…` gpgkey URLs are resolved in (the deployment's root, never the host's). */
  keyRoot: string;
  /** Where downloaded packages are kept (under the rpm-md cache). */
  cacheDir: string;
  onImport?: (nevra: string, cached: boolean) => void;
}

function metaString(md: ReadonlyArray<[string, { type: string; value: unknown }]>, key: string): string | null {
  const e = md.find(([k]) => k === key);
  return e && e[1].type === 's' ? (e[1].value as string) : null;
}

/** Imports (or finds in the cache) every package of `list`; answers them in order. */
export async function importLayerPackages(host: Host, repo: Repo, list: readonly LayerPackage[], opts: ImportLayerOptions): Promise<CachedLayerPackage[]> {
  const out: CachedLayerPackage[] = [];
  const keys = new Map<string, Uint8Array[]>();
  for (const lp of list) {
    const ref = pkgcacheRef(lp.nevra);
    const name = formatNevra(lp.nevra);
    const have = await resolveRev(repo, ref, true);
    if (have) {
      const c = await repo.loadCommit(have);
      const same = lp.source === 'local' ? metaString(c.metadata, 'rpmostree.metadata_sha256') === lp.checksum : metaString(c.metadata, 'rpmostree.repodata_checksum') === lp.checksum;
      if (same) {
        out.push({ lp, commit: have, pkg: await openCachedPackage(repo, ref) });
        opts.onImport?.(name, true);
        continue;
      }
    }
    if (lp.source === 'local') throw new XylemError(`${name}: the local package is no longer in the package cache (${ref}); install the .rpm file again`, 'ENOENT');
    const md = lp.md!;
    const path = await fetchPackage(host, md, { name: lp.nevra.name, checksum: parseChecksum(lp.checksum), size: { package: lp.size }, location: lp.location! } as Parameters<typeof fetchPackage>[2], {
      destDir: joinPath(opts.cacheDir, md.repo.id, 'packages'),
    });
    let gpg: { keys: Uint8Array[] } | null = null;
    if (md.repo.gpgcheck) {
      if (!keys.has(md.repo.id)) keys.set(md.repo.id, await repoKeys(host, md, opts.keyRoot));
      gpg = { keys: keys.get(md.repo.id)! };
    }
    const h = await host.fs.openRead(path);
    try {
      const pkg = await openRpm(h, path.replace(/.*\//, ''));
      await checkRepoPackage(pkg, `${name} (repo '${md.repo.id}')`, gpg);
      const ts = md.repomd.data.reduce((t, d) => (d.timestamp !== null && d.timestamp > t ? d.timestamp : t), 0);
      const r = await importPackage(repo, pkg, { repo: { id: md.repo.id, timestamp: BigInt(Math.floor(ts)) }, repodataChecksum: lp.checksum, force: have !== null });
      out.push({ lp, commit: r.checksum, pkg: await openCachedPackage(repo, r.ref) });
      opts.onImport?.(name, false);
    } finally {
      await h.close();
    }
  }
  return out;
}

function parseChecksum(s: string): { type: string; value: string } {
  const i = s.indexOf(':');
  return { type: s.slice(0, i), value: s.slice(i + 1) };
}

/** A local .rpm imported into the cache: its origin entry `<sha256>:<nevra>`. */
export interface LocalImport {
  entry: string;
  ref: string;
  nevra: string;
}

/** Verifies a local .rpm file (digests must hold; it may be unsigned) and imports it. */
export async function importLocalRpm(host: Host, repo: Repo, path: string): Promise<LocalImport> {
  if (typeof path !== 'string' || path === '') throw new TypeError('importLocalRpm: a path is required');
  const st = await host.fs.stat(path);
  if (!st || st.kind !== 'file') throw new XylemError(`${path}: not a regular file`, 'ENOENT');
  const h = await host.fs.openRead(path);
  try {
    let pkg: RpmPackage;
    try {
      pkg = await openRpm(h, path.replace(/.*\//, ''));
      await checkRepoPackage(pkg, path, null);
    } catch (e) {
      if (e instanceof XylemError && e.code === 'EBADRPM') throw e;
      throw new XylemError(`${path}: not a valid RPM package: ${(e as Error).message}`, 'EBADRPM');
    }
    const sha = repo.createSha256();
    sha.update(pkg.metadataBytes);
    const hex = toHex(sha.digest());
    const r = await importPackage(repo, pkg, { force: true });
    return { entry: `${hex}:${formatNevra(pkg.nevra)}`, ref: r.ref, nevra: formatNevra(pkg.nevra) };
  } finally {
    await h.close();
  }
}
