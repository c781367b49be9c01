// Repository consistency check (`ostree fsck`): every ref's commit, every commit object, and
// every object reachable from a complete commit is re-hashed and structurally validated.
// Messages, their order and the exit conditions follow ostree 2022.7; the object checks run
// many at a time (I/O, inflate and hashing overlap) instead of one by one.

import type { Repo } from './repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import {
  ObjectType,
  objectTypeName,
  isMetadataType,
  decodeCommit,
  decodeDirTree,
  decodeDirMeta,
  parseArchiveHeader,
  fileStreamHeader,
  isReg,
  type FileHeader,
} from '../format/objects.ts';
import { decode } from '../format/gvariant.ts';
import { glibDictOrder } from '../format/glib-hash-order.ts';
import { toHex, utf8 } from '../util/bytes.ts';
import { CorruptionError, NotFoundError, XylemError, errnoCode } from '../util/errors.ts';
import { listLocalRefs, listRemoteRefs, listMirrorRefs } from './refs.ts';
import { traverseCommit, commitsReaching } from './traverse.ts';
import { ObjectSet } from '../util/object-set.ts';
import { commitState, markCommitPartial } from './commit-state.ts';
import { encode } from '../format/gvariant.ts';
import { inflateSync } from 'fflate';
import { hashFileInto } from '../util/hash-file.ts';

/** Content larger than this is hashed in chunks rather than read whole (bare modes). */
const STREAM_THRESHOLD = 8 * 1024 * 1024;
const CHUNK = 1024 * 1024;
/** Archive bodies up to this size are inflated in-thread with fflate (measured: less CPU than
 * node:zlib async, whose 16 KiB output chunks cost more in callbacks and copies than they save). */
const SYNC_INFLATE_MAX = 64 * 1024 * 1024;
/** With worker threads, bodies from this size inflate there (node:zlib) while this thread hashes. */
const POOL_INFLATE_MIN = 16 * 1024;

function mismatch(type: ObjectType, expected: string, actual: string): CorruptionError {
  return new CorruptionError(`Corrupted ${objectTypeName(type)} object; checksum expected='${expected}' actual='${actual}'`);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Validates the structure of a metadata object's bytes (normal form, names, checksums). */
function validateMetadata(type: ObjectType, data: Uint8Array): void {
  switch (type) {
    case ObjectType.Commit:
      decodeCommit(data);
      return;
    case ObjectType.DirTree:
      decodeDirTree(data);
      return;
    case ObjectType.DirMeta:
      decodeDirMeta(data);
      return;
    case ObjectType.CommitMeta:
    case ObjectType.TombstoneCommit:
      decode('a{sv}', data);
      return;
    default:
      return;
  }
}

async function fsckMetadata(repo: Repo, checksum: string, type: ObjectType): Promise<void> {
  const name = `${checksum}.${objectTypeName(type)}`;
  const data = await repo.loadMetadataBytes(type, checksum); // NotFoundError when missing
  const actual = toHex(repo.sha256(data));
  if (actual !== checksum) throw new CorruptionError(`fsck ${name}: ${mismatch(type, checksum, actual).message}`);
  try {
    validateMetadata(type, data);
  } catch (e) {
    throw new CorruptionError(`fsck ${name}: ${name}: ${messageOf(e)}`);
  }
}

async function readMissingAware(repo: Repo, path: string, checksum: string): Promise<Uint8Array> {
  try {
    return await repo.fs.readFile(path);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') throw new NotFoundError(`Couldn't find file object '${checksum}'`);
    throw e;
  }
}

async function hashContent(repo: Repo, header: FileHeader, content: Uint8Array): Promise<string> {
  const h = repo.createSha256();
  h.update(fileStreamHeader(header));
  if (isReg(header.mode)) h.update(content);
  return toHex(h.digest());
}

/** Archive objects above this size are inflated and hashed chunk by chunk. */
const ARCHIVE_STREAM_MIN = 1024 * 1024;

/** GZlibDecompressor's wording for a bad body, which ostree passes through. */
function inflateFailure(e: unknown): CorruptionError {
  return new CorruptionError(/EOF|end of|more input|truncat|expected \d+ bytes/i.test(messageOf(e)) ? 'Need more input' : 'Invalid compressed data');
}

async function contentChecksumArchive(repo: Repo, checksum: string): Promise<string> {
  const path = repo.objectPath(checksum, ObjectType.File);
  const st = await repo.fs.lstat(path);
  if (st && st.size >= ARCHIVE_STREAM_MIN) {
    // Big: never whole in memory (compressed or not).
    const obj = await repo.loadFile(checksum);
    const h = repo.createSha256();
    h.update(fileStreamHeader(obj.header));
    try {
      for await (const c of obj.stream()) h.update(c);
    } catch (e) {
      throw inflateFailure(e);
    }
    return toHex(h.digest());
  }
  const data = await readMissingAware(repo, path, checksum);
  if (data.length >= 4) {
    const headerSize = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, false);
    if (headerSize > data.length) throw new CorruptionError(`File header size ${headerSize} exceeds size ${data.length}`);
    if (8 + headerSize > data.length) throw new CorruptionError('Need more input');
  }
  const { header, size, offset } = parseArchiveHeader(data, `${checksum}.filez`);
  let content: Uint8Array = new Uint8Array(0);
  if (isReg(header.mode)) {
    try {
      // Small bodies inflate faster in-thread than through an async native round trip or a
      // worker thread's; with workers, bigger ones go there.
      content =
        size <= (repo.host.workers ? POOL_INFLATE_MIN : SYNC_INFLATE_MAX) ? inflateSync(data.subarray(offset), { out: new Uint8Array(size) }) : await repo.deflate.inflateRaw(data.subarray(offset), size);
    } catch (e) {
      throw inflateFailure(e);
    }
  }
  return hashContent(repo, header, content);
}

async function contentChecksumBare(repo: Repo, checksum: string): Promise<string> {
  const obj = await repo.loadFile(checksum); // NotFoundError when missing
  if (!isReg(obj.header.mode) || obj.size <= STREAM_THRESHOLD) return hashContent(repo, obj.header, await obj.read());
  const h = repo.createSha256();
  h.update(fileStreamHeader(obj.header));
  await hashFileInto(repo.fs, obj.path, h, CHUNK);
  return toHex(h.digest());
}

/**
 * Verifies one object as `ostree_repo_fsck_object` does. Throws NotFoundError when it is
 * missing and an Error carrying ostree's message when it is corrupt.
 */
export async function fsckObject(repo: Repo, checksum: string, type: ObjectType): Promise<void> {
  if (isMetadataType(type)) return fsckMetadata(repo, checksum, type);
  if (type !== ObjectType.File) return;
  let actual: string;
  try {
    actual = repo.mode === 'archive' ? await contentChecksumArchive(repo, checksum) : await contentChecksumBare(repo, checksum);
  } catch (e) {
    if (e instanceof NotFoundError) throw e;
    throw new CorruptionError(`fsck content object ${checksum}: ${messageOf(e)}`);
  }
  if (actual !== checksum) throw new CorruptionError(`fsck content object ${checksum}: ${mismatch(ObjectType.File, checksum, actual).message}`);
}

export interface FsckOptions {
  /** -q: only errors (and the progress / final lines, as ostree). */
  quiet?: boolean;
  /** -a: report every corrupt object instead of stopping at the first. */
  all?: boolean;
  /** --delete: remove corrupt objects and mark their commits partial. */
  delete?: boolean;
  /** --add-tombstones: tombstone commits whose parent is missing. */
  addTombstones?: boolean;
  verifyBindings?: boolean;
  verifyBackRefs?: boolean;
  /** Objects verified at once (default 64). */
  concurrency?: number;
}

export interface FsckOutput {
  out(text: string): void;
  err(text: string): void;
  /** Progress of the object phase; the default prints ostree's non-TTY lines through out(). */
  progress?(done: number, total: number): void;
}

export interface FsckResult {
  commitsVerified: number;
  objectsVerified: number;
  partialCommits: number;
  corruption: boolean;
}

/** Prints "fsck objects (i/n) p%" lines the way libglnx does without a terminal: first, last, ≤1/s. */
export function nonTtyProgress(out: (t: string) => void, now: () => number = Date.now): (done: number, total: number) => void {
  let last = -Infinity;
  return (done, total) => {
    const t = now();
    if (done !== 1 && done !== total && t - last < 1000) return;
    last = t;
    out(`fsck objects (${done}/${total}) ${Math.floor((done / total) * 100)}%\n`);
  };
}

class Checker {
  corruption = false;
  private readonly marking = new Map<string, Promise<void>>();
  constructor(
    private readonly repo: Repo,
    private readonly opts: FsckOptions,
    private readonly io: FsckOutput,
  ) {}

  /**
   * fsck_one_object: returns normally unless the run must stop (then throws). `parents` gives
   * the commits reaching the object (asked only when it is reported), null for a ref's commit.
   */
  async one(checksum: string, type: ObjectType, parents: (() => Promise<string[]>) | null): Promise<void> {
    let error: unknown;
    try {
      await fsckObject(this.repo, checksum, type);
      return;
    } catch (e) {
      error = e;
    }
    const parentCommits = parents ? await parents() : null;
    const ordered = parentCommits ? glibDictOrder(parentCommits.map((c) => [c, true] as const)).map(([c]) => c) : null;
    const list = ordered ? ordered.join(', ') : null;
    let missing = false;
    if (error instanceof NotFoundError) {
      this.io.err(`Object missing${list !== null ? ` in commits ${list}` : ''}: ${checksum}.${objectTypeName(type)}\n`);
      missing = true;
    } else {
      const msg = `${list !== null ? `In commits ${list}: ` : ''}${messageOf(error)}`;
      if (this.opts.delete) {
        this.io.err(`${msg}\n`);
        await this.repo.deleteObject(checksum, type).catch(() => undefined);
        missing = true;
      } else if (this.opts.all) {
        this.corruption = true;
        this.io.err(`${msg}\n`);
      } else {
        throw new XylemError(msg);
      }
    }
    if (missing) {
      this.corruption = true;
      if (ordered && type !== ObjectType.Commit) {
        for (const c of ordered) await this.markPartial(c);
      }
    }
  }

  private markPartial(commit: string): Promise<void> {
    let p = this.marking.get(commit);
    if (!p) {
      p = (async () => {
        if ((await commitState(this.repo, commit)) !== 'complete') return;
        this.io.err(`Marking commit as partial: ${commit}\n`);
        await markCommitPartial(this.repo, commit, true, true);
      })();
      this.marking.set(commit, p);
    }
    return p;
  }
}

async function refOrder<T extends { name: string }>(refs: T[]): Promise<T[]> {
  const byName = new Map(refs.map((r) => [r.name, r] as const));
  return glibDictOrder(refs.map((r) => [r.name, r] as const)).map(([n]) => byName.get(n)!);
}

/** Turns on core.tombstone-commits in the repo config (fsck --add-tombstones). */
async function enableTombstoneCommits(repo: Repo): Promise<void> {
  await repo.reloadConfig();
  if (repo.config.getBoolean('core', 'tombstone-commits') === true) return;
  const kf = repo.config;
  kf.set('core', 'tombstone-commits', 'true');
  await repo.writeConfig(kf);
}

/** The `.tombstone-commit` object written in place of a deleted commit: {'commit': <b'HEX'>}. */
export function encodeTombstone(commit: string): Uint8Array {
  return encode('a{sv}', [['commit', { type: 'ay', value: utf8(commit + '\0') }]]);
}

/**
 * Deletes a commit object the way ostree_repo_delete_object does: its detached metadata goes too,
 * and a tombstone is written when core.tombstone-commits is set.
 */
export async function deleteCommitObject(repo: Repo, commit: string): Promise<void> {
  await repo.deleteObject(commit, ObjectType.CommitMeta);
  const p = repo.objectPath(commit, ObjectType.Commit);
  try {
    await repo.fs.unlink(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      const rel = p.slice(repo.path.length + 1).replace(/^objects\//, '');
      throw new XylemError(`Deleting object ${commit}.commit: unlinkat(${rel}): No such file or directory`);
    }
    throw e;
  }
  if (repo.config.getBoolean('core', 'tombstone-commits') === true) {
    await repo.ensureObjectDir(commit);
    await writeFileAtomic(repo.fs, repo.objectPath(commit, ObjectType.TombstoneCommit), encodeTombstone(commit), { fsync: repo.fsyncEnabled });
  }
}

/** Verifies `ok(commit)` for a ref binding, as --verify-bindings does. */
function verifyBindings(commitCsum: string, data: Uint8Array, ref: string, collection: string | null): void {
  const c = decodeCommit(data);
  const refs = c.metadata.find(([k]) => k === 'ostree.ref-binding');
  if (!refs) throw new XylemError(`Commit ${commitCsum}: Commit has no requested ref ‘${ref}’ in ref binding metadata ()`);
  const bound = (refs[1].value as string[]) ?? [];
  if (!bound.includes(ref))
    throw new XylemError(
      `Commit ${commitCsum}: Commit has no requested ref ‘${ref}’ in ref binding metadata (${bound.map((r) => `‘${r}’`).join(', ')})`,
    );
  if (collection !== null) {
    const cb = c.metadata.find(([k]) => k === 'ostree.collection-binding');
    const v = cb ? (cb[1].value as string) : null;
    if (v !== collection)
      throw new XylemError(`Commit ${commitCsum}: Commit has collection ID ‘${v ?? ''}’ in collection binding metadata, while the remote it came from has collection ID ‘${collection}’`);
  }
}

/** Runs the whole check; throws XylemError with ostree's final message when something is wrong. */
export async function fsckRepo(repo: Repo, opts: FsckOptions, io: FsckOutput): Promise<FsckResult> {
  const quiet = opts.quiet === true;
  const checker = new Checker(repo, opts, io);
  const progress = io.progress ?? nonTtyProgress(io.out);
  const verifyBind = opts.verifyBindings === true || opts.verifyBackRefs === true;

  const forRef = async (checksum: string, display: string, ref: string, collection: string | null): Promise<void> => {
    await checker.one(checksum, ObjectType.Commit, null);
    let data: Uint8Array;
    try {
      data = await repo.loadMetadataBytes(ObjectType.Commit, checksum);
    } catch (e) {
      throw new XylemError(`Loading commit for ref ${display}: ${messageOf(e)}`);
    }
    if (verifyBind) verifyBindings(checksum, data, ref, collection);
  };

  if (!quiet) io.out('Validating refs...\n');
  const refs = await refOrder([...(await listLocalRefs(repo)), ...(await listRemoteRefs(repo))]);
  for (const r of refs) await forRef(r.checksum, r.name, r.ref, null);

  if (!quiet) io.out('Validating refs in collections...\n');
  for (const r of await listMirrorRefs(repo)) await forRef(r.checksum, `(${r.collection}, ${r.ref})`, r.ref, r.collection);

  if (!quiet) io.out('Enumerating commits...\n');
  const allCommits: string[] = [];
  for await (const o of repo.objects(new Set([ObjectType.Commit]))) allCommits.push(o.checksum);
  const complete: string[] = [];
  const tombstones: string[] = [];
  let nPartial = 0;
  let nFsckPartial = 0;
  for (const c of allCommits) {
    // Commit objects are verified with the rest of the reachable set; a commit GLib cannot read
    // still counts here and fails the walk, as in libostree.
    const data = await repo.loadMetadataBytes(ObjectType.Commit, c);
    let parent: string | null = null;
    try {
      parent = decodeCommit(data, `${c}.commit`).parent;
    } catch {
      parent = null;
    }
    if (opts.addTombstones && parent && !(await repo.hasObject(parent, ObjectType.Commit))) tombstones.push(c);
    const state = await commitState(repo, c);
    if (state !== 'complete') {
      nPartial++;
      if (state === 'fsck-partial') nFsckPartial++;
    } else complete.push(c);
  }

  if (!quiet) io.out(`Verifying content integrity of ${complete.length} commit objects...\n`);
  // One compact set for everything reachable (no JS object per object); which commits reach a
  // bad object is worked out again only when one is reported.
  const reachable = new ObjectSet();
  for (const c of complete) await traverseCommit(repo, c, reachable, { depth: 0 });
  const walks = new Map<string, ObjectSet>();
  const parentsOf = (checksum: string, type: ObjectType) => async (): Promise<string[]> =>
    type === ObjectType.Commit ? [checksum] : complete.length === 1 ? [complete[0]!] : commitsReaching(repo, complete, checksum, type, walks);

  const total = reachable.size;
  const limit = Math.max(1, opts.concurrency ?? 64);
  const slots = reachable.capacity;
  let next = 0;
  let done = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (failure === null) {
      while (next < slots && reachable.typeAt(next) === 0) next++;
      if (next >= slots) return;
      const slot = next++;
      const checksum = reachable.checksumAt(slot);
      const type = reachable.typeAt(slot) as ObjectType;
      try {
        await checker.one(checksum, type, parentsOf(checksum, type));
      } catch (e) {
        if (failure === null) failure = e;
        return;
      }
      done++;
      progress(done, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, total) }, worker));
  if (failure !== null) throw failure;

  if (opts.addTombstones) {
    if (tombstones.length > 0) await enableTombstoneCommits(repo);
    for (const c of tombstones) {
      io.out(`Adding tombstone for commit ${c}\n`);
      await deleteCommitObject(repo, c);
    }
  } else if (nPartial > 0) {
    io.out(`${nPartial} partial commits not verified\n`);
  }
  if (checker.corruption) throw new XylemError('Repository corruption encountered');
  if (nFsckPartial > 0) throw new XylemError(`${nFsckPartial} partial commits from fsck-detected corruption`);
  io.out(`object fsck of ${complete.length} commits completed successfully - no errors found.\n`);
  return { commitsVerified: complete.length, objectsVerified: total, partialCommits: nPartial, corruption: false };
}
