// `upgrade --check` / `--preview`: what an upgrade would bring, without changing the sysroot.
// The pull library's dry run names the target commit and sizes what is missing locally (exact
// object bytes as the server reports them); the target's commit and trees are then read straight
// from the remote (memory only) to show its version and the tree diff against the deployment.

import { decodeCommit, decodeDirTree, ObjectType, objectRelPath, type Commit, type DirTree } from '../format/objects.ts';
import { pull } from '../pull/pull.ts';
import type { PullOptions } from '../pull/options.ts';
import { Fetcher, joinUrl } from '../pull/fetcher.ts';
import { PULL_MAX_METADATA_SIZE } from '../pull/engine.ts';
import type { DryRunEstimate } from '../pull/dry-run.ts';
import { remoteOption } from '../remote/config.ts';
import type { Repo } from '../repo/repo.ts';
import { XylemError } from '../util/errors.ts';
import type { SignatureStatus } from './status.ts';

/** Reads metadata objects (commits, dirtrees, dirmetas) from somewhere. */
export interface MetadataReader {
  read(type: ObjectType, csum: string): Promise<Uint8Array>;
}

/** Metadata of the local repo. */
export function localMetadata(repo: Repo): MetadataReader {
  return { read: (type, csum) => repo.loadMetadataBytes(type, csum) };
}

/** Metadata from the local repo when present, else from remote `name` (HTTP or file://), cached. */
export async function remoteMetadata(repo: Repo, name: string, fetchFn?: typeof fetch): Promise<MetadataReader> {
  const url = await remoteOption(repo, name, 'url', null);
  if (url === null) throw new XylemError(`No "url" option in remote "${name}"`);
  const fetcher = new Fetcher({ fetch: fetchFn ?? repo.host.fetch, fs: repo.fs, retries: 2 });
  const cache = new Map<string, Uint8Array>();
  return {
    async read(type, csum) {
      if (await repo.hasObject(csum, type)) return repo.loadMetadataBytes(type, csum);
      const key = `${csum}.${type}`;
      const hit = cache.get(key);
      if (hit) return hit;
      const bytes = await fetcher.get({ url: joinUrl(url, objectRelPath(csum, type, 'archive')), maxBytes: PULL_MAX_METADATA_SIZE });
      if (!bytes) throw new XylemError(`Object ${csum} (${ObjectType[type]}) not found on remote ${name}`);
      cache.set(key, bytes);
      return bytes;
    },
  };
}

export interface TreeDiff {
  added: string[];
  removed: string[];
  modified: string[];
}

/** Paths that differ between two commits (directories added or removed are listed once). */
export async function diffCommits(oldSrc: MetadataReader, oldCsum: string, newSrc: MetadataReader, newCsum: string): Promise<TreeDiff> {
  const out: TreeDiff = { added: [], removed: [], modified: [] };
  const oc = decodeCommit(await oldSrc.read(ObjectType.Commit, oldCsum), `${oldCsum}.commit`);
  const nc = decodeCommit(await newSrc.read(ObjectType.Commit, newCsum), `${newCsum}.commit`);
  const walk = async (path: string, a: string, b: string): Promise<void> => {
    if (a === b) return;
    const [ta, tb]: [DirTree, DirTree] = [
      decodeDirTree(await oldSrc.read(ObjectType.DirTree, a), `${a}.dirtree`),
      decodeDirTree(await newSrc.read(ObjectType.DirTree, b), `${b}.dirtree`),
    ];
    const fa = new Map(ta.files.map((f) => [f.name, f.checksum]));
    const fb = new Map(tb.files.map((f) => [f.name, f.checksum]));
    const da = new Map(ta.dirs.map((d) => [d.name, d]));
    const db = new Map(tb.dirs.map((d) => [d.name, d]));
    for (const [n, c] of fa) {
      if (!fb.has(n)) out.removed.push(`${path}/${n}`);
      else if (fb.get(n) !== c) out.modified.push(`${path}/${n}`);
    }
    for (const n of fb.keys()) if (!fa.has(n) && !db.has(n)) out.added.push(`${path}/${n}`);
    for (const [n, d] of da) {
      const e = db.get(n);
      if (!e) {
        if (!fb.has(n)) out.removed.push(`${path}/${n}`);
        continue;
      }
      if (e.metaChecksum !== d.metaChecksum) out.modified.push(`${path}/${n}`);
      await walk(`${path}/${n}`, d.treeChecksum, e.treeChecksum);
    }
    for (const n of db.keys()) if (!da.has(n)) out.added.push(`${path}/${n}`);
  };
  if (oc.rootMeta !== nc.rootMeta) out.modified.push('/');
  await walk('', oc.rootTree, nc.rootTree);
  for (const l of [out.added, out.removed, out.modified]) l.sort();
  return out;
}

export interface UpdateCheck {
  /** The commit the remote ref points at. */
  checksum: string;
  commit: Commit;
  version: string | null;
  /** With a gpg-verify remote: the commit's signatures checked against its keys (null otherwise). */
  signatures: SignatureStatus[] | null;
  /** Only with preview: what the pull would fetch. */
  estimate: DryRunEstimate | null;
  /** Only with preview: the tree diff from `from`. */
  diff: TreeDiff | null;
}

/** The GPG signatures of a remote commit (its .commitmeta), verified with the remote's keys. */
async function remoteSignatures(repo: Repo, remote: string, src: MetadataReader, csum: string): Promise<SignatureStatus[]> {
  let bytes: Uint8Array;
  try {
    bytes = await src.read(ObjectType.CommitMeta, csum);
  } catch {
    return []; // no detached metadata: unsigned
  }
  const { parseDetachedMetadata } = await import('../crypto/metadata.ts');
  const { gpgVerifyWithMetadata } = await import('../sign/repo-sign.ts');
  const commitBytes = await src.read(ObjectType.Commit, csum);
  try {
    const r = await gpgVerifyWithMetadata(repo, commitBytes, parseDetachedMetadata(bytes, `${csum}.commitmeta`), { remote });
    return r.signatures.map((x) => ({ valid: x.valid, 'key-missing': x.keyMissing, fingerprint: x.fingerprint, timestamp: x.timestamp }));
  } catch {
    return [];
  }
}

/**
 * Resolves REMOTE:REF on the server without writing anything. `preview` also sizes the download
 * and diffs the target against commit `from`.
 */
export async function checkForUpdate(
  repo: Repo,
  remote: string,
  ref: string,
  from: string,
  opts: { preview: boolean; gpg?: boolean; fetch?: typeof fetch; pullOptions?: Partial<PullOptions> },
): Promise<UpdateCheck> {
  const r = await pull(repo, remote, { ...opts.pullOptions, refs: [ref], dryRun: true, commitMetadataOnly: !opts.preview, depth: 0, fetch: opts.fetch });
  const item = r.dryRun?.find((i) => i.ref === ref);
  if (!item) throw new XylemError(`Could not resolve ${remote}:${ref}`);
  const src = await remoteMetadata(repo, remote, opts.fetch);
  const commit = decodeCommit(await src.read(ObjectType.Commit, item.checksum), `${item.checksum}.commit`);
  const v = commit.metadata.find(([k, x]) => k === 'version' && x.type === 's');
  const out: UpdateCheck = { checksum: item.checksum, commit, version: v ? (v[1].value as string) : null, signatures: null, estimate: null, diff: null };
  if (opts.gpg) out.signatures = await remoteSignatures(repo, remote, src, item.checksum);
  if (opts.preview) {
    out.estimate = r.estimate ?? null;
    out.diff = item.checksum === from ? { added: [], removed: [], modified: [] } : await diffCommits(localMetadata(repo), from, src, item.checksum);
  }
  return out;
}
