// The on-disk metadata cache of one repository, `<cachedir>/<repoid>/` (dnf keeps the same shape):
// `repodata/repomd.xml`, the metadata files it lists under their own names, and a stamp
// (`xylem-cache.json`: when repomd.xml was last fetched, from which configured URLs, and the base
// URLs that served it) that decides whether metadata_expire has passed. Every write is atomic:
// streamed into a temp file beside the target, fsynced, renamed, directory fsynced.

import type { FsHost } from '../host.ts';
import { randomSuffix, writeFileAtomic } from '../util/atomic-write.ts';
import { utf8 } from '../util/bytes.ts';
import { errnoCode, XylemError } from '../util/errors.ts';
import type { RepomdData } from './repomd.ts';
import type { RepoConfig } from './repo-file.ts';

export const STAMP_FILE = 'xylem-cache.json';

export interface CacheStamp {
  /** When repomd.xml was last fetched (ms since the epoch). */
  fetchedAt: number;
  /** What the repo was configured with then (a changed config invalidates the cache). */
  sourceKey: string;
  /** Base URLs that served it (mirrors in preference order). */
  baseUrls: string[];
}

/** Paths of a repo's cache. */
export interface CachePaths {
  dir: string;
  repodata: string;
  repomd: string;
  stamp: string;
  packages: string;
}

export function cachePaths(cacheDir: string, repoId: string): CachePaths {
  const dir = `${cacheDir.replace(/\/+$/, '')}/${repoId}`;
  return { dir, repodata: `${dir}/repodata`, repomd: `${dir}/repodata/repomd.xml`, stamp: `${dir}/${STAMP_FILE}`, packages: `${dir}/packages` };
}

/** What identifies a repo's source: its URLs. */
export function sourceKey(repo: RepoConfig): string {
  return JSON.stringify({ baseurl: repo.baseurl, mirrorlist: repo.mirrorlist, metalink: repo.metalink });
}

/** The stamp, or null when missing or unreadable (then the cache counts as expired). */
export async function readStamp(fs: FsHost, path: string): Promise<CacheStamp | null> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
  if (bytes.length > 1024 * 1024) return null;
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<CacheStamp>;
    if (typeof v.fetchedAt !== 'number' || typeof v.sourceKey !== 'string' || !Array.isArray(v.baseUrls) || !v.baseUrls.every((u) => typeof u === 'string')) return null;
    return { fetchedAt: v.fetchedAt, sourceKey: v.sourceKey, baseUrls: v.baseUrls };
  } catch {
    return null;
  }
}

export async function writeStamp(fs: FsHost, path: string, stamp: CacheStamp): Promise<void> {
  await writeFileAtomic(fs, path, utf8(JSON.stringify(stamp) + '\n'));
}

/** Whether metadata fetched at `fetchedAt` is still fresh at `now` (expire in seconds, -1 never). */
export function isFresh(fetchedAt: number, now: number, metadataExpire: number): boolean {
  if (metadataExpire === -1) return true;
  return now >= fetchedAt && now - fetchedAt < metadataExpire * 1000;
}

/**
 * The local file name of a metadata file: the href's last component, prefixed with its checksum
 * when the name does not start with it (`--simple-md-filenames` repos), so that a new revision
 * never overwrites the file an older repomd.xml still names.
 */
export function localName(d: RepomdData): string {
  const base = d.location.href.slice(d.location.href.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(base) || base.length > 255) throw new XylemError(`repomd.xml: <data type="${d.type}"> has a bad file name '${base.slice(0, 80)}'`, 'EINVAL');
  const sum = d.checksum?.value;
  if (!sum || base.startsWith(sum)) return base;
  return `${sum.slice(0, 64)}-${base}`;
}

/**
 * Writes `chunks` to `path` atomically (temp file beside it, fsync, rename, directory fsync). The
 * temp file is removed when the stream throws (a checksum mismatch found at its end).
 */
export async function writeStreamAtomic(fs: FsHost, path: string, chunks: AsyncIterable<Uint8Array>): Promise<number> {
  const slash = path.lastIndexOf('/');
  const dir = slash <= 0 ? '/' : path.slice(0, slash);
  const tmp = `${dir}/.tmp-${path.slice(slash + 1)}-${randomSuffix()}`;
  const w = await fs.openWrite(tmp, { mode: 0o644, exclusive: true });
  let n = 0;
  try {
    for await (const c of chunks) {
      await w.write(c);
      n += c.length;
    }
    await w.sync();
    await w.close();
  } catch (e) {
    await w.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fs.fsyncDir(dir);
  return n;
}

/** Removes files in the repodata folder that `keep` does not name (old revisions, stray temps). */
export async function pruneRepodata(fs: FsHost, repodata: string, keep: ReadonlySet<string>): Promise<void> {
  for (const e of await fs.readdir(repodata)) {
    if (e.kind !== 'file' || e.name === 'repomd.xml' || keep.has(e.name)) continue;
    await fs.unlink(`${repodata}/${e.name}`).catch(() => undefined);
  }
}
