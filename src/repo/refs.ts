// Refs: listing, resolving revisions (ref names, remote:ref, checksums and their prefixes, REV^),
// and atomically writing or deleting ref files under refs/heads, refs/remotes and refs/mirrors.

import { Repo } from './repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { isValidChecksum, ObjectType } from '../format/objects.ts';
import { joinPath, dirname } from '../util/path.ts';
import { fromUtf8, textEncoder } from '../util/bytes.ts';
import { CorruptionError, NotFoundError, XylemError, errnoCode } from '../util/errors.ts';

const REF_COMPONENT = /^[\w\d][-._\w\d]*$/;

export function isValidRefName(name: string): boolean {
  if (name === '') return false;
  return name.split('/').every((c) => REF_COMPONENT.test(c));
}

export function validateRefName(name: string): void {
  if (!isValidRefName(name)) throw new XylemError(`Invalid refspec ${name}`);
}

export function isValidRemoteName(name: string): boolean {
  return REF_COMPONENT.test(name);
}

/** Splits "remote:ref" into its parts; a plain ref gives remote null. */
export function parseRefspec(refspec: string): { remote: string | null; ref: string } {
  const i = refspec.indexOf(':');
  if (i < 0) {
    validateRefName(refspec);
    return { remote: null, ref: refspec };
  }
  const remote = refspec.slice(0, i);
  const ref = refspec.slice(i + 1);
  if (!isValidRemoteName(remote)) throw new XylemError(`Invalid remote name ${remote}`);
  validateRefName(ref);
  return { remote, ref };
}

async function readRefFile(repo: Repo, path: string): Promise<string | null> {
  let data: Uint8Array;
  try {
    data = await repo.fs.readFile(path);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR' || c === 'EISDIR') return null;
    throw e;
  }
  const s = fromUtf8(data).trim();
  if (s.startsWith('ref: ')) {
    // Alias (symbolic ref written by `refs --alias`): resolve through the target.
    return resolveRev(repo, s.slice(5), true);
  }
  if (!isValidChecksum(s)) throw new CorruptionError(`Invalid checksum in ref file ${path}: '${s}'`);
  return s;
}

async function isSymlink(repo: Repo, path: string): Promise<boolean> {
  const st = await repo.fs.lstat(path);
  return st?.kind === 'symlink';
}

/** The file backing a ref. */
export function refPath(repo: Repo, remote: string | null, ref: string): string {
  return remote === null ? joinPath(repo.path, 'refs/heads', ref) : joinPath(repo.path, 'refs/remotes', remote, ref);
}

/**
 * Resolves a revision to a commit checksum. Accepts a full checksum, a unique checksum prefix,
 * a local ref, `remote:ref`, `remote/ref`, collection refs under refs/mirrors, and a trailing `^`
 * for the parent. With allowNoent, a missing ref resolves to null.
 */
export async function resolveRev(repo: Repo, rev: string, allowNoent = false): Promise<string | null> {
  if (typeof rev !== 'string' || rev === '') throw new XylemError('Invalid empty rev');
  if (rev.endsWith('^')) {
    const base = await resolveRev(repo, rev.slice(0, -1), allowNoent);
    if (base === null) return null;
    const c = await repo.loadCommit(base);
    if (!c.parent) throw new XylemError(`Commit ${base} has no parent`);
    return c.parent;
  }
  if (isValidChecksum(rev)) return rev;
  const i = rev.indexOf(':');
  if (i >= 0) {
    const { remote, ref } = parseRefspec(rev);
    const v = await readRefFile(repo, refPath(repo, remote, ref));
    if (v !== null) return v;
    if (allowNoent) return null;
    throw new NotFoundError(`Refspec '${rev}' not found`);
  }
  if (!isValidRefName(rev)) {
    if (allowNoent) return null;
    throw new NotFoundError(`Refspec '${rev}' not found`);
  }
  for (const dir of ['refs/heads', 'refs/remotes']) {
    const v = await readRefFile(repo, joinPath(repo.path, dir, rev));
    if (v !== null) return v;
  }
  // A ref of that name under any remote (libostree's find_ref_in_remotes).
  const remotesDir = joinPath(repo.path, 'refs/remotes');
  for (const r of (await repo.fs.readdir(remotesDir).catch(() => [])).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (r.kind !== 'dir') continue;
    const v = await readRefFile(repo, joinPath(remotesDir, r.name, rev));
    if (v !== null) return v;
  }
  // Collection refs: refs/mirrors/COLLECTION/REF
  const mirrors = joinPath(repo.path, 'refs/mirrors');
  const cols = await repo.fs.readdir(mirrors).catch(() => []);
  for (const c of cols) {
    const v = await readRefFile(repo, joinPath(mirrors, c.name, rev));
    if (v !== null) return v;
  }
  // A checksum prefix (at least 4 hex digits? ostree accepts any unique prefix).
  if (/^[0-9a-f]{1,63}$/.test(rev)) {
    const found = await findCommitsByPrefix(repo, rev);
    if (found.length === 1) return found[0]!;
    if (found.length > 1) throw new XylemError(`Refspec '${rev}' is ambiguous`);
  }
  if (allowNoent) return null;
  throw new NotFoundError(`Refspec '${rev}' not found`);
}

async function findCommitsByPrefix(repo: Repo, prefix: string): Promise<string[]> {
  const out: string[] = [];
  const objDir = joinPath(repo.path, 'objects');
  const dirs =
    prefix.length >= 2
      ? [prefix.slice(0, 2)]
      : (await repo.fs.readdir(objDir).catch(() => [])).map((e) => e.name).filter((n) => n.startsWith(prefix));
  for (const d of dirs) {
    const entries = await repo.fs.readdir(joinPath(objDir, d)).catch(() => []);
    for (const e of entries) {
      if (!e.name.endsWith('.commit')) continue;
      const csum = d + e.name.slice(0, 62);
      if (csum.startsWith(prefix)) out.push(csum);
    }
  }
  return out;
}

export interface RefEntry {
  /** Display name: `ref` for local refs, `remote:ref` for remote refs, `(collection, ref)` for mirrors. */
  name: string;
  remote: string | null;
  collection: string | null;
  ref: string;
  checksum: string;
  /** Target ref when this ref is an alias. */
  aliasOf: string | null;
}

async function walkRefDir(repo: Repo, dir: string, prefix: string, out: Array<{ ref: string; path: string }>): Promise<void> {
  let entries;
  try {
    entries = await repo.fs.readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // hidden files are never refs (ostree skips them too)
    const p = joinPath(dir, e.name);
    const name = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.kind === 'dir') await walkRefDir(repo, p, name, out);
    else if (e.kind === 'file' || e.kind === 'symlink') out.push({ ref: name, path: p });
  }
}

/** As libostree, listing refs fails when a top-level refs folder is missing. */
async function requireRefDir(repo: Repo, rel: string): Promise<void> {
  const st = await repo.fs.lstat(joinPath(repo.path, rel));
  if (!st) throw new XylemError(`Listing refs: opendir(${rel}): No such file or directory`);
}

/** Local refs (refs/heads), sorted by name. */
export async function listLocalRefs(repo: Repo, prefix?: string): Promise<RefEntry[]> {
  const found: Array<{ ref: string; path: string }> = [];
  await requireRefDir(repo, 'refs/heads');
  await walkRefDir(repo, joinPath(repo.path, 'refs/heads'), '', found);
  const out: RefEntry[] = [];
  for (const f of found) {
    if (prefix && !(f.ref === prefix || f.ref.startsWith(prefix.endsWith('/') ? prefix : prefix + '/') || f.ref.startsWith(prefix))) continue;
    const raw = fromUtf8(await repo.fs.readFile(f.path)).trim();
    const aliasOf = raw.startsWith('ref: ') ? raw.slice(5) : (await isSymlink(repo, f.path)) ? await aliasTarget(repo, f.path) : null;
    const csum = await readRefFile(repo, f.path);
    if (csum === null) continue;
    out.push({ name: f.ref, remote: null, collection: null, ref: f.ref, checksum: csum, aliasOf });
  }
  return out;
}

async function aliasTarget(repo: Repo, path: string): Promise<string> {
  const t = await repo.fs.readlink(path);
  // Alias symlinks are relative to refs/heads.
  const headsDir = joinPath(repo.path, 'refs/heads');
  const abs = t.startsWith('/') ? t : joinPath(dirname(path), t);
  return normalizeRelative(abs, headsDir);
}

function normalizeRelative(abs: string, base: string): string {
  const parts: string[] = [];
  for (const c of abs.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  const baseParts = base.split('/').filter((c) => c !== '' && c !== '.');
  let norm = parts.join('/');
  const b = baseParts.join('/');
  if (norm.startsWith(b + '/')) norm = norm.slice(b.length + 1);
  return norm;
}

/** Remote refs (refs/remotes/REMOTE/…), sorted. */
export async function listRemoteRefs(repo: Repo, remote?: string): Promise<RefEntry[]> {
  const base = joinPath(repo.path, 'refs/remotes');
  if (!remote) await requireRefDir(repo, 'refs/remotes');
  const remotes = remote ? [remote] : (await repo.fs.readdir(base).catch(() => [])).filter((e) => e.kind === 'dir').map((e) => e.name).sort();
  const out: RefEntry[] = [];
  for (const r of remotes) {
    const found: Array<{ ref: string; path: string }> = [];
    await walkRefDir(repo, joinPath(base, r), '', found);
    for (const f of found) {
      const csum = await readRefFile(repo, f.path);
      if (csum !== null) out.push({ name: `${r}:${f.ref}`, remote: r, collection: null, ref: f.ref, checksum: csum, aliasOf: null });
    }
  }
  return out;
}

/** Collection refs (refs/mirrors/COLLECTION/…). */
export async function listMirrorRefs(repo: Repo): Promise<RefEntry[]> {
  const base = joinPath(repo.path, 'refs/mirrors');
  const cols = (await repo.fs.readdir(base).catch(() => [])).filter((e) => e.kind === 'dir').map((e) => e.name).sort();
  const out: RefEntry[] = [];
  for (const c of cols) {
    const found: Array<{ ref: string; path: string }> = [];
    await walkRefDir(repo, joinPath(base, c), '', found);
    for (const f of found) {
      const csum = await readRefFile(repo, f.path);
      if (csum !== null) out.push({ name: `(${c}, ${f.ref})`, remote: null, collection: c, ref: f.ref, checksum: csum, aliasOf: null });
    }
  }
  return out;
}

/** All refs: local, then remote. */
export async function listAllRefs(repo: Repo): Promise<RefEntry[]> {
  return [...(await listLocalRefs(repo)), ...(await listRemoteRefs(repo))];
}

/** Points a ref at a commit (atomically), or deletes it when checksum is null. */
export async function setRef(repo: Repo, remote: string | null, ref: string, checksum: string | null): Promise<void> {
  validateRefName(ref);
  if (remote !== null && !isValidRemoteName(remote)) throw new XylemError(`Invalid remote name ${remote}`);
  const p = refPath(repo, remote, ref);
  if (checksum === null) {
    try {
      await repo.fs.unlink(p);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    await pruneEmptyRefDirs(repo, dirname(p), remote === null ? joinPath(repo.path, 'refs/heads') : joinPath(repo.path, 'refs/remotes', remote));
    return;
  }
  if (!isValidChecksum(checksum)) throw new XylemError(`Invalid checksum ${checksum}`);
  await ensureRefParent(repo, p);
  await writeFileAtomic(repo.fs, p, textEncoder.encode(checksum + '\n'), { fsync: repo.fsyncEnabled });
}

/** Writes an alias ref: a symlink in refs/heads pointing to the target ref, as ostree does. */
export async function setRefAlias(repo: Repo, ref: string, target: string | null): Promise<void> {
  validateRefName(ref);
  const p = refPath(repo, null, ref);
  if (target === null) return setRef(repo, null, ref, null);
  validateRefName(target);
  await ensureRefParent(repo, p);
  const depth = ref.split('/').length - 1;
  const rel = '../'.repeat(depth) + target;
  await repo.fs.unlink(p).catch(() => undefined);
  await repo.fs.symlink(rel, p);
}

async function ensureRefParent(repo: Repo, p: string): Promise<void> {
  const parent = dirname(p);
  // A ref file may be in the way of a directory we need (ref "a" vs "a/b").
  await repo.fs.mkdir(parent, { recursive: true }).catch((e) => {
    if (errnoCode(e) === 'EEXIST' || errnoCode(e) === 'ENOTDIR') throw new XylemError(`Ref path conflicts with an existing ref: ${p}`);
    throw e;
  });
}

async function pruneEmptyRefDirs(repo: Repo, dir: string, stop: string): Promise<void> {
  let d = dir;
  while (d.length > stop.length && d.startsWith(stop)) {
    const entries = await repo.fs.readdir(d).catch(() => null);
    if (!entries || entries.length > 0) return;
    await repo.fs.rmdir(d).catch(() => undefined);
    d = dirname(d);
  }
}

/** Whether the commit object exists locally. */
export async function hasCommit(repo: Repo, csum: string): Promise<boolean> {
  return repo.hasObject(csum, ObjectType.Commit);
}
