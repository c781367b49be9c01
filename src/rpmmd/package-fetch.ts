// Downloading one package of a loaded repository (what dnf's download step does through librepo):
// its location resolved under the repo's base URL (or its xml:base) with hrefs that leave the
// repository refused, fetched through the pull transport with mirror failover and resume, checked
// against the pkgid checksum and the package size while it streams into a temp file, then renamed
// into `<cachedir>/<repoid>/packages/`. A package already there that verifies is not fetched again.

import type { Host } from '../host.ts';
import { Fetcher, type FetcherOptions } from '../pull/fetcher.ts';
import { fileUrlToPath } from '../remote/config.ts';
import { XylemError } from '../util/errors.ts';
import { writeStreamAtomic } from './cache.ts';
import { verifyStream, type Checksum } from './digest.ts';
import { bytesSource, readFileChunks } from './fields.ts';
import { resolveHref, type RepoMetadata } from './fetch.ts';

/** Largest package downloaded when the metadata gives no size. */
const MAX_PACKAGE_SIZE = 8 * 1024 * 1024 * 1024;

/** What fetchPackage needs to know about a package (an RpmmdPackage has it). */
export interface PackageLocation {
  name: string;
  checksum: Checksum;
  size: { package: number };
  location: { href: string; base: string | null };
}

export interface FetchPackageOptions {
  /** Folder the package is stored in (default `<cachedir>/<repoid>/packages`). */
  destDir?: string;
  fetcher?: Fetcher;
  fetcherOptions?: FetcherOptions;
}

/** Downloads (or finds, verified, in the cache) `pkg` of `md`; answers its local path. */
export async function fetchPackage(host: Host, md: RepoMetadata, pkg: PackageLocation, opts: FetchPackageOptions = {}): Promise<string> {
  if (typeof host?.fs?.stat !== 'function') throw new TypeError('fetchPackage: a host with fs is required');
  if (!md || !Array.isArray(md.baseUrls) || md.baseUrls.length === 0) throw new TypeError('fetchPackage: loaded repo metadata is required');
  if (!pkg || typeof pkg.location?.href !== 'string') throw new TypeError('fetchPackage: a package with a location is required');
  const what = `repo '${md.repo.id}': package '${pkg.name}'`;
  const url = resolveHref(md.baseUrls[0]!, pkg.location.href, pkg.location.base, what);
  const file = pkg.location.href.slice(pkg.location.href.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9][A-Za-z0-9._+~^%-]*$/.test(file) || file.length > 255) throw new XylemError(`${what}: bad file name '${file.slice(0, 80)}'`, 'EINVAL');
  const dir = opts.destDir ?? md.paths.packages;
  await host.fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const dest = `${dir}/${file}`;
  const size = pkg.size.package > 0 ? pkg.size.package : null;
  const verify = (chunks: AsyncIterable<Uint8Array>) => verifyStream(chunks, { what, checksum: pkg.checksum, size, provider: host.hash, maxBytes: MAX_PACKAGE_SIZE });

  const st = await host.fs.stat(dest);
  if (st && st.kind === 'file' && (size === null || st.size === size)) {
    try {
      for await (const _ of verify(readFileChunks(host.fs, dest))) void _;
      return dest;
    } catch {
      // a damaged copy: fetch again
    }
  }
  if (/^file:/i.test(url)) {
    await writeStreamAtomic(host.fs, dest, verify(readFileChunks(host.fs, fileUrlToPath(url))));
    return dest;
  }
  const f = opts.fetcher ?? new Fetcher({ fetch: host.fetch ?? (typeof fetch === 'function' ? fetch : undefined), http: host.http, fs: host.fs, ...opts.fetcherOptions });
  if (!opts.fetcher && md.baseUrls.length > 1) f.useMirrors(md.baseUrls);
  const partial = `${dir}/.partial-${file}`;
  const body = await f.getSpillable({ url, maxBytes: size ?? MAX_PACKAGE_SIZE, what, partialPath: partial, partialMinSize: 1024 * 1024, spillMinSize: 4 * 1024 * 1024 });
  if (body === null) throw new XylemError(`${what}: ${url} not found`, 'ENOENT');
  try {
    await writeStreamAtomic(host.fs, dest, verify(body instanceof Uint8Array ? bytesSource(body) : readFileChunks(host.fs, body.file)));
  } finally {
    await host.fs.unlink(partial).catch(() => undefined);
  }
  return dest;
}
