// rpm-md repositories, the public surface: read .repo files and dnf's vars folders, load a
// repository's metadata into its cache (loadRepoMetadata / loadRepos: expiry, repo_gpgcheck,
// mirrors, skip_if_unavailable), then stream its primary, filelists, other and updateinfo
// documents one record at a time, every byte checked against the checksums of repomd.xml
// (compressed and uncompressed) as it goes; filter packages by excludepkgs/includepkgs; and
// download packages verified against their pkgid.

import type { Host } from '../host.ts';
import { XylemError } from '../util/errors.ts';
import { decompressStream } from './decompress.ts';
import { verifyStream } from './digest.ts';
import { readFileChunks } from './fields.ts';
import { loadRepoMetadata, type LoadRepoOptions, type RepoMetadata } from './fetch.ts';
import { streamFilelists, streamOther, type FilelistsPackage, type OtherPackage } from './filelists.ts';
import { streamPrimary, type PackageSink, type RpmmdPackage, type StreamResult } from './primary.ts';
import { parseRepoFile, type RepoConfig, type RepoVars } from './repo-file.ts';
import { streamUpdateinfo, type Advisory } from './updateinfo.ts';
import type { XmlStreamLimits } from './xml-stream.ts';

export { loadRepoMetadata, resolveHref, checkRelativeHref, DEFAULT_TYPES } from './fetch.ts';
export type { LoadRepoOptions, RepoMetadata, LocalMetadataFile } from './fetch.ts';
export { fetchPackage } from './package-fetch.ts';
export { repoKeys, checkRepoPackage } from './package-trust.ts';
export type { FetchPackageOptions, PackageLocation } from './package-fetch.ts';
export { parseRepoFile, makeRepoConfig, substituteVars, splitList, DEFAULT_METADATA_EXPIRE } from './repo-file.ts';
export type { RepoConfig, RepoVars } from './repo-file.ts';
export { parseRepomd, findRepomdData, repomdTimestamp } from './repomd.ts';
export type { Repomd, RepomdData, RepomdLocation } from './repomd.ts';
export { streamPrimary } from './primary.ts';
export type { RpmmdPackage, RpmmdFile, PackageSink, StreamOptions, StreamResult } from './primary.ts';
export { streamFilelists, streamOther } from './filelists.ts';
export type { FilelistsPackage, OtherPackage, ChangelogEntry, PackageRef } from './filelists.ts';
export { streamUpdateinfo, parseAdvisoryDate, advisoryTime } from './updateinfo.ts';
export type { Advisory, AdvisoryCollection, AdvisoryPackage, AdvisoryReference } from './updateinfo.ts';
export { decompressStream, compressionFromName, sniffCompression } from './decompress.ts';
export type { Compression } from './decompress.ts';
export { parseXmlStream } from './xml-stream.ts';
export type { XmlStreamHandler, XmlStreamLimits } from './xml-stream.ts';
export type { Checksum } from './digest.ts';

/** Largest uncompressed metadata file read when repomd.xml gives no open-size. */
export const DEFAULT_MAX_OPEN_SIZE = 8 * 1024 * 1024 * 1024;

export interface ReadOptions {
  limits?: XmlStreamLimits;
  /** Cap on the uncompressed size when repomd.xml gives none (default 8 GiB). */
  maxOpenSize?: number;
}

/**
 * The uncompressed bytes of metadata `type` of a loaded repo, checked while streaming: the stored
 * file against checksum and size, the uncompressed bytes against open-checksum and open-size. The
 * last chunk is followed by an error when anything differs. Null when the repo has no such file.
 */
export function openMetadata(host: Host, md: RepoMetadata, type: string, opts: ReadOptions = {}): AsyncIterable<Uint8Array> | null {
  if (typeof host?.fs?.openRead !== 'function') throw new TypeError('openMetadata: a host with fs is required');
  const f = md?.files?.get(type);
  if (!f) return null;
  const d = f.data;
  const what = `repo '${md.repo.id}': ${f.path}`;
  const stored = verifyStream(readFileChunks(host.fs, f.path), { what, checksum: d.checksum, size: d.size, provider: host.hash });
  const maxOutput = d.openSize ?? opts.maxOpenSize ?? DEFAULT_MAX_OPEN_SIZE;
  // With an open-checksum to verify, gzip's own CRC-32 adds nothing.
  const gunzip = host.deflate?.gunzipChunks?.bind(host.deflate);
  const open = decompressStream(stored, { what, maxOutput, name: f.path, gzipCrc: d.openChecksum === null, ...(gunzip ? { gunzip } : {}) });
  return verifyStream(open, { what: `${what} (uncompressed)`, checksum: d.openChecksum, size: d.openSize, provider: host.hash });
}

function need(host: Host, md: RepoMetadata, type: string, opts: ReadOptions): AsyncIterable<Uint8Array> {
  const s = openMetadata(host, md, type, opts);
  if (!s) throw new XylemError(`repo '${md.repo.id}': no ${type} metadata loaded`, 'ENOENT');
  return s;
}

/** Streams the repo's primary.xml into `sink`, one package at a time. */
export function readPrimary(host: Host, md: RepoMetadata, sink: PackageSink<RpmmdPackage>, opts: ReadOptions = {}): Promise<StreamResult> {
  return streamPrimary(need(host, md, 'primary', opts), sink, { fileName: md.files.get('primary')!.path, limits: opts.limits });
}

/** Streams the repo's filelists.xml into `sink`. */
export function readFilelists(host: Host, md: RepoMetadata, sink: PackageSink<FilelistsPackage>, opts: ReadOptions = {}): Promise<StreamResult> {
  return streamFilelists(need(host, md, 'filelists', opts), sink, { fileName: md.files.get('filelists')!.path, limits: opts.limits });
}

/** Streams the repo's other.xml (changelogs) into `sink`. */
export function readOther(host: Host, md: RepoMetadata, sink: PackageSink<OtherPackage>, opts: ReadOptions = {}): Promise<StreamResult> {
  return streamOther(need(host, md, 'other', opts), sink, { fileName: md.files.get('other')!.path, limits: opts.limits });
}

/** Streams the repo's updateinfo.xml into `sink`; resolves null when the repo has none. */
export async function readUpdateinfo(host: Host, md: RepoMetadata, sink: PackageSink<Advisory>, opts: ReadOptions = {}): Promise<StreamResult | null> {
  const s = openMetadata(host, md, 'updateinfo', opts);
  if (!s) return null;
  return streamUpdateinfo(s, sink, { fileName: md.files.get('updateinfo')!.path, limits: opts.limits });
}

/**
 * Variables from dnf's vars folders (`/etc/dnf/vars`, `/etc/yum/vars`): each regular file names a
 * variable whose value is the file's first line, as libdnf's addVarsFromDir reads them. Later
 * folders override earlier ones; missing folders are skipped.
 */
export async function readRepoVars(host: Host, dirs: readonly string[]): Promise<Record<string, string>> {
  if (!Array.isArray(dirs)) throw new TypeError('readRepoVars: dirs must be an array of folders');
  const out: Record<string, string> = {};
  for (const dir of dirs) {
    const st = await host.fs.stat(dir);
    if (!st || st.kind !== 'dir') continue;
    for (const e of (await host.fs.readdir(dir)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = `${dir.replace(/\/+$/, '')}/${e.name}`;
      const fst = await host.fs.stat(path);
      if (!fst || fst.kind !== 'file') continue;
      if (fst.size > 64 * 1024) throw new XylemError(`${path}: a variable file larger than 64 KiB`, 'ETOOBIG');
      const text = new TextDecoder().decode(await host.fs.readFile(path));
      const nl = text.indexOf('\n');
      out[e.name] = nl < 0 ? text : text.slice(0, nl);
    }
  }
  return out;
}

/** Reads every `*.repo` file of a yum.repos.d folder (sorted by name), in file order. */
export async function readRepoDir(host: Host, dir: string, vars: RepoVars = {}): Promise<RepoConfig[]> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('readRepoDir: dir is required');
  const names = (await host.fs.readdir(dir)).filter((e) => e.kind !== 'dir' && e.name.endsWith('.repo')).map((e) => e.name).sort();
  const out: RepoConfig[] = [];
  for (const n of names) {
    const path = `${dir.replace(/\/+$/, '')}/${n}`;
    const bytes = await host.fs.readFile(path);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new XylemError(`${path}: not valid UTF-8`, 'EINVAL');
    }
    for (const r of parseRepoFile(text, { fileName: path, vars })) {
      if (out.some((o) => o.id === r.id)) throw new XylemError(`${r.source}: repository '${r.id}' is listed more than once`, 'EINVAL');
      out.push(r);
    }
  }
  return out;
}

export interface LoadReposResult {
  loaded: RepoMetadata[];
  /** Repos with skip_if_unavailable that could not be loaded, and why. */
  skipped: Array<{ repo: RepoConfig; error: Error }>;
}

/**
 * Loads every enabled repo (in order). A repo that fails is skipped when it has
 * skip_if_unavailable, else its error is thrown.
 */
export async function loadRepos(host: Host, repos: readonly RepoConfig[], opts: LoadRepoOptions): Promise<LoadReposResult> {
  if (!Array.isArray(repos)) throw new TypeError('loadRepos: repos must be an array');
  const out: LoadReposResult = { loaded: [], skipped: [] };
  for (const r of repos) {
    if (!r.enabled) continue;
    try {
      out.loaded.push(await loadRepoMetadata(host, r, opts));
    } catch (e) {
      if (!r.skipIfUnavailable || !(e instanceof Error)) throw e;
      out.skipped.push({ repo: r, error: e });
    }
  }
  return out;
}

export { repoPackageFilter } from './pkg-filter.ts';
export { globToRegExp } from '../util/glob.ts';
