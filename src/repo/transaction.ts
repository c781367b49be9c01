// Atomic repository writes. Objects are written under tmp/staging-*/XX/ (no ref can see them), then
// made durable (syncfs or per-file fsync), renamed into objects/ — content and trees first, commits
// last — made durable again, and only then are refs moved. A crash at any point leaves either
// unreferenced objects or staging debris, never a ref to a missing or torn object. From its first
// use to its commit or abort a transaction holds the repo lock shared (libostree's
// prepare_transaction), so a prune cannot delete what it found present and is about to reference.

import { Repo } from './repo.ts';
import { randomSuffix } from '../util/atomic-write.ts';
import {
  ObjectType,
  objectExtension,
  fileStreamHeader,
  archiveHeader,
  encodeOstreeMeta,
  isLnk,
  isReg,
  type FileHeader,
  MAX_METADATA_SIZE,
} from '../format/objects.ts';
import { joinPath } from '../util/path.ts';
import { toHex, utf8 } from '../util/bytes.ts';
import { CorruptionError, XylemError, errnoCode } from '../util/errors.ts';
import { setRef } from './refs.ts';
import { hashFileInto } from '../util/hash-file.ts';
import { ObjectSet } from '../util/object-set.ts';
import { borrowChunk, returnChunk } from '../util/chunk-pool.ts';
import { popRepoLock, pushRepoLock } from './lock.ts';

/** A staged object: its checksum and type (its staged path follows from them, see stagedPath). */
interface Staged {
  checksum: string;
  type: ObjectType;
}

export interface RefUpdate {
  remote: string | null;
  ref: string;
  checksum: string | null;
}

/** Counters a transaction keeps, reported after commit (ostree's OstreeRepoTransactionStats). */
export interface TransactionStats {
  metadataObjectsTotal: number;
  metadataObjectsWritten: number;
  contentObjectsTotal: number;
  contentObjectsWritten: number;
  contentBytesWritten: number;
}

const STREAM_CHUNK = 1 << 20;

/** A staging folder shared by several transactions (see the Transaction constructor). */
export interface SharedStaging {
  dir: string;
  /** XX/ subfolders already created in it. */
  subdirs: Set<string>;
}

/** A new shared staging folder for `repo` (created on first write). */
export function sharedStaging(repo: Repo): SharedStaging {
  const bootId = repo.host.env?.OSTREE_BOOTID;
  return { dir: joinPath(repo.path, 'tmp', `staging-${bootId ? `${bootId}-` : ''}${randomSuffix()}`), subdirs: new Set() };
}

export class Transaction {
  readonly repo: Repo;
  readonly stagingDir: string;
  /** What is staged: one 37-byte slot per object (no string or object per object). */
  private staged = new ObjectSet();
  private stagedDirs: Set<string>;
  private refUpdates: RefUpdate[] = [];
  private started = false;
  /** The shared repo lock push, once taken (see lock()). */
  private locking: Promise<void> | null = null;
  private keepStaging = false;
  private finished = false;
  readonly stats: TransactionStats = {
    metadataObjectsTotal: 0,
    metadataObjectsWritten: 0,
    contentObjectsTotal: 0,
    contentObjectsWritten: 0,
    contentBytesWritten: 0,
  };
  /** Compression level for archive objects. */
  zlibLevel = 6;
  /**
   * Make the renames into objects/ durable before returning (a syncfs after publishing). A pull's
   * intermediate batches turn it off: they move no ref and their commits stay marked partial, and
   * the pull syncs once before its refs move.
   */
  durablePublish = true;
  /**
   * Skip every syncfs (a compose importing many packages into its cache): the owner syncs once
   * before any ref names what was written. A transaction that moves refs refuses it.
   */
  deferSyncfs = false;
  /** fsync each staged file as it is written (when fsync is on and the host has no syncfs). */
  private readonly perFileFsync: boolean;

  /**
   * `shared` lets a chain of transactions (a pull publishing in batches) use one staging folder and
   * its XX/ subfolders; the owner of `shared` removes the folder at the end.
   */
  constructor(repo: Repo, shared?: SharedStaging) {
    this.repo = repo;
    // As libostree, the staging folder carries the boot id (OSTREE_BOOTID overrides it).
    const bootId = repo.host.env?.OSTREE_BOOTID;
    this.stagingDir = shared?.dir ?? joinPath(repo.path, 'tmp', `staging-${bootId ? `${bootId}-` : ''}${randomSuffix()}`);
    this.stagedDirs = shared?.subdirs ?? new Set<string>();
    if (shared) this.keepStaging = true;
    const lvl = repo.config.getInteger('archive', 'zlib-level');
    if (lvl !== undefined && lvl >= 0 && lvl <= 9) this.zlibLevel = lvl;
    this.perFileFsync = repo.fsyncEnabled && !repo.fs.syncfs;
  }

  /** Takes the shared repo lock on first use; held until commit or abort. */
  private lock(): Promise<void> {
    if (this.finished) return Promise.reject(new XylemError('Transaction already finished'));
    if (!this.locking) {
      this.locking = pushRepoLock(this.repo, 'shared');
      // a failed push holds nothing: the next use tries again
      this.locking.catch(() => (this.locking = null));
    }
    return this.locking;
  }

  private async unlock(): Promise<void> {
    const l = this.locking;
    this.locking = null;
    if (!l) return;
    try {
      await l;
    } catch {
      return;
    }
    await popRepoLock(this.repo, 'shared');
  }

  private async start(): Promise<void> {
    await this.lock();
    if (this.started) return;
    if (this.finished) throw new XylemError('Transaction already finished');
    this.started = true;
    await this.repo.fs.mkdir(this.stagingDir, { recursive: true, mode: 0o755 });
  }

  /** Whether the object exists in the repo or is staged in this transaction. */
  async hasObject(checksum: string, type: ObjectType): Promise<boolean> {
    if (this.staged.has(checksum, type)) return true;
    await this.lock();
    return this.repo.hasObject(checksum, type);
  }

  private async stagedPath(checksum: string, type: ObjectType): Promise<string> {
    await this.start();
    const pre = checksum.slice(0, 2);
    const dir = joinPath(this.stagingDir, pre);
    if (!this.stagedDirs.has(pre)) {
      await this.repo.fs.mkdir(dir, { recursive: true, mode: 0o755 });
      this.stagedDirs.add(pre);
    }
    return joinPath(dir, `${checksum.slice(2)}.${objectExtension(type, this.repo.mode)}`);
  }

  private record(checksum: string, type: ObjectType, _path: string): void {
    this.staged.add(checksum, type);
  }

  /** Writes a metadata object given its serialized bytes; returns its checksum. */
  async writeMetadata(type: ObjectType, data: Uint8Array, expected?: string): Promise<string> {
    if (data.length > MAX_METADATA_SIZE) throw new XylemError(`Metadata object of ${data.length} bytes is too large`);
    const checksum = toHex(this.repo.sha256(data));
    if (expected !== undefined && expected !== checksum)
      throw new XylemError(`Corrupted ${ObjectType[type]} object; checksum expected='${expected}' actual='${checksum}'`);
    this.stats.metadataObjectsTotal++;
    if (await this.hasObject(checksum, type)) return checksum;
    const p = await this.stagedPath(checksum, type);
    await this.repo.fs.writeFile(p, data, { mode: 0o644, fsync: this.perFileFsync });
    this.record(checksum, type, p);
    this.stats.metadataObjectsWritten++;
    return checksum;
  }

  /**
   * Writes detached metadata (commitmeta) for a commit; replaces an existing one. Not
   * content-addressed, so it is written atomically straight into objects/.
   */
  async writeCommitMeta(commit: string, data: Uint8Array): Promise<void> {
    const p = await this.stagedPath(commit, ObjectType.CommitMeta);
    await this.repo.fs.writeFile(p, data, { mode: 0o644, fsync: this.perFileFsync });
    this.record(commit, ObjectType.CommitMeta, p);
  }

  /**
   * As libostree: a bare-user-only repo refuses regular files that are setuid/setgid/sticky or
   * world-writable (commits canonicalize modes first; pulls can bring anything).
   */
  private checkBareUserOnlyMode(checksum: string, header: FileHeader): void {
    if (this.repo.mode !== 'bare-user-only' || !isReg(header.mode)) return;
    const bad = header.mode & 0o7002;
    if (bad === 0) return;
    throw new XylemError(`Writing content object: Content object ${checksum}: invalid mode 0${header.mode.toString(8)} with bits 0${bad.toString(8)}`);
  }

  /** Writes a content object whose content is in memory; returns its checksum. */
  async writeContent(header: FileHeader, content: Uint8Array, expected?: string): Promise<string> {
    const h = this.repo.createSha256();
    h.update(fileStreamHeader(header));
    if (isReg(header.mode)) h.update(content);
    const checksum = toHex(h.digest());
    if (expected !== undefined && expected !== checksum)
      throw new XylemError(`Corrupted file object; checksum expected='${expected}' actual='${checksum}'`);
    this.checkBareUserOnlyMode(checksum, header);
    this.stats.contentObjectsTotal++;
    if (await this.hasObject(checksum, ObjectType.File)) return checksum;
    await this.storeContent(checksum, header, content);
    return checksum;
  }

  /**
   * Writes a content object the caller has already checksummed (a pull verified it against the
   * name it was fetched under, and checked that the repo lacks it): no second hash, no lookup.
   */
  async writeVerifiedContent(checksum: string, header: FileHeader, content: Uint8Array): Promise<void> {
    this.checkBareUserOnlyMode(checksum, header);
    this.stats.contentObjectsTotal++;
    if (this.staged.has(checksum, ObjectType.File)) return;
    await this.storeContent(checksum, header, content);
  }

  /**
   * Writes a regular file's content that arrives in chunks (a big pulled object being inflated),
   * hashing it on the way; the object is refused (and its staged file removed) unless it has
   * exactly `size` bytes and the checksum `expected`. Bare-family repos only.
   */
  async writeContentStream(expected: string, header: FileHeader, size: number, content: AsyncIterable<Uint8Array>): Promise<void> {
    if (this.repo.mode === 'archive' || !isReg(header.mode)) throw new XylemError('writeContentStream: regular files into bare-family repos only');
    this.checkBareUserOnlyMode(expected, header);
    this.stats.contentObjectsTotal++;
    if (this.staged.has(expected, ObjectType.File)) return;
    const fs = this.repo.fs;
    const p = await this.stagedPath(expected, ObjectType.File);
    const h = this.repo.createSha256();
    h.update(fileStreamHeader(header));
    let n = 0;
    const out = await fs.openWrite(p, { mode: 0o644 });
    try {
      try {
        for await (const c of content) {
          n += c.length;
          if (n > size) break;
          h.update(c);
          await out.write(c);
        }
        if (this.perFileFsync) await out.sync();
      } finally {
        await out.close();
      }
      if (n !== size) throw new CorruptionError(`Corrupted file object ${expected}: expected ${size} bytes of content, got ${n > size ? 'more' : n}`);
      const actual = toHex(h.digest());
      if (actual !== expected) throw new CorruptionError(`Corrupted file object; checksum expected='${expected}' actual='${actual}'`);
    } catch (e) {
      await fs.unlink(p).catch(() => undefined);
      throw e;
    }
    await this.applyBareMetadata(p, header);
    this.record(expected, ObjectType.File, p);
    this.stats.contentObjectsWritten++;
    this.stats.contentBytesWritten += size;
  }

  /**
   * Writes a regular file's content read from `srcPath` (streamed: never holds the whole file).
   * The checksum is computed in a first pass; the object is written only when missing.
   */
  async writeContentFromFile(header: FileHeader, srcPath: string, size: number): Promise<string> {
    const fs = this.repo.fs;
    const h = this.repo.createSha256();
    h.update(fileStreamHeader(header));
    if ((await hashFileInto(fs, srcPath, h, STREAM_CHUNK)) !== size)
      throw new XylemError(`File ${srcPath} changed size while being committed`);
    const checksum = toHex(h.digest());
    this.checkBareUserOnlyMode(checksum, header);
    this.stats.contentObjectsTotal++;
    if (await this.hasObject(checksum, ObjectType.File)) return checksum;
    const p = await this.stagedPath(checksum, ObjectType.File);
    const streaming = this.repo.deflate.deflateRawChunks;
    if (this.repo.mode === 'archive' && streaming) {
      // the host's streaming deflate (native, off the main thread), fed as it drains
      const out = await fs.openWrite(p, { mode: 0o644, fsync: this.perFileFsync });
      try {
        await out.write(archiveHeader(header, size));
        const src = await fs.openRead(srcPath);
        try {
          // one pooled buffer, refilled when the deflater asks for the next chunk (see the Host contract)
          const chunk = borrowChunk();
          const read = async function* (): AsyncIterable<Uint8Array> {
            for (let pos = 0; pos < size; ) {
              const n = await src.read(chunk, 0, Math.min(chunk.length, size - pos), pos);
              if (n === 0) break;
              pos += n;
              yield chunk.subarray(0, n);
            }
          };
          for await (const c of streaming.call(this.repo.deflate, read(), this.zlibLevel)) await out.write(c);
          // back to the pool only after a complete run: after a failure a read may still be under way
          returnChunk(chunk);
        } finally {
          await src.close();
        }
        if (this.perFileFsync) await out.sync();
      } finally {
        await out.close();
      }
    } else if (this.repo.mode === 'archive') {
      const buf = new Uint8Array(Math.min(STREAM_CHUNK, Math.max(size, 1)));
      const { Deflate } = await import('fflate');
      const out = await fs.openWrite(p, { mode: 0o644, fsync: this.perFileFsync });
      try {
        await out.write(archiveHeader(header, size));
        const pending: Uint8Array[] = [];
        const def = new Deflate({ level: this.zlibLevel as 6 }, (chunk) => pending.push(chunk));
        const src = await fs.openRead(srcPath);
        try {
          let pos = 0;
          for (;;) {
            const n = await src.read(buf, 0, buf.length, pos);
            pos += n;
            def.push(buf.slice(0, n), n === 0 || pos >= size);
            for (const c of pending.splice(0)) await out.write(c);
            if (n === 0 || pos >= size) break;
          }
        } finally {
          await src.close();
        }
      } finally {
        await out.close();
      }
    } else {
      await fs.copyFile(srcPath, p);
      await this.applyBareMetadata(p, header);
    }
    this.record(checksum, ObjectType.File, p);
    this.stats.contentObjectsWritten++;
    this.stats.contentBytesWritten += size;
    return checksum;
  }

  private async storeContent(checksum: string, header: FileHeader, content: Uint8Array): Promise<void> {
    const fs = this.repo.fs;
    const p = await this.stagedPath(checksum, ObjectType.File);
    const mode = this.repo.mode;
    if (mode === 'archive') {
      const head = archiveHeader(header, isReg(header.mode) ? content.length : 0);
      if (isReg(header.mode)) {
        const body = await this.repo.deflate.deflateRaw(content, this.zlibLevel);
        if (head.length + body.length <= 64 * 1024) {
          const all = new Uint8Array(head.length + body.length);
          all.set(head, 0);
          all.set(body, head.length);
          await fs.writeFile(p, all, { mode: 0o644, fsync: this.perFileFsync });
        } else {
          // header and body written one after the other: no third copy of a big object
          const out = await fs.openWrite(p, { mode: 0o644, fsync: this.perFileFsync });
          try {
            await out.write(head);
            await out.write(body);
            if (this.perFileFsync) await out.sync();
          } finally {
            await out.close();
          }
        }
      } else {
        await fs.writeFile(p, head, { mode: 0o644, fsync: this.perFileFsync });
      }
    } else if (isLnk(header.mode) && (mode === 'bare' || mode === 'bare-user-only')) {
      // The same object may be in flight twice (identical files imported in parallel): the
      // first writer wins, and its symlink is this one.
      try {
        await fs.symlink(header.symlinkTarget, p);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
      await this.applyBareMetadata(p, header);
    } else if (isLnk(header.mode)) {
      // bare-user: a regular file holding the target and a NUL.
      await fs.writeFile(p, utf8(header.symlinkTarget + '\0'), { mode: 0o644, fsync: this.perFileFsync });
      await this.applyBareMetadata(p, header);
    } else {
      await fs.writeFile(p, content, { mode: 0o644, fsync: this.perFileFsync });
      await this.applyBareMetadata(p, header);
    }
    this.record(checksum, ObjectType.File, p);
    this.stats.contentObjectsWritten++;
    this.stats.contentBytesWritten += content.length;
  }

  /** Owner, mode, xattrs and mtime of a freshly written bare-family object. */
  private async applyBareMetadata(p: string, header: FileHeader): Promise<void> {
    const fs = this.repo.fs;
    const mode = this.repo.mode;
    if (mode === 'bare-user') {
      if (!fs.xattrs) throw new XylemError('bare-user repositories need extended attributes, which this runtime lacks');
      await fs.xattrs.set(p, 'user.ostreemeta', encodeOstreeMeta(header));
      if (isReg(header.mode)) await fs.chmod(p, (header.mode & 0o775) | 0o400);
      await fs.lutimes(p, 0, 0);
    } else if (mode === 'bare-user-only') {
      if (isReg(header.mode)) await fs.chmod(p, header.mode & 0o7777);
      await fs.lutimes(p, 0, 0);
    } else if (mode === 'bare') {
      await fs.lchown(p, header.uid, header.gid);
      if (isReg(header.mode)) await fs.chmod(p, header.mode & 0o7777);
      if (header.xattrs.length) {
        if (!fs.xattrs) throw new XylemError('This runtime cannot write extended attributes, needed for bare repositories');
        for (const x of header.xattrs) await fs.xattrs.set(p, x.name, x.value);
      }
      await fs.lutimes(p, 0, 0);
    }
  }

  /**
   * `commit --consume` in bare and bare-user-only repos: a regular file whose on-disk metadata is
   * exactly `header` becomes the object itself (hardlinked, not copied), as libostree adopts it.
   */
  async adoptFile(header: FileHeader, srcPath: string, size: number): Promise<string> {
    const fs = this.repo.fs;
    const h = this.repo.createSha256();
    h.update(fileStreamHeader(header));
    const fh = await fs.openRead(srcPath);
    const buf = new Uint8Array(Math.min(STREAM_CHUNK, Math.max(size, 1)));
    try {
      for (let pos = 0; ; ) {
        const n = await fh.read(buf, 0, buf.length, pos);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        pos += n;
      }
    } finally {
      await fh.close();
    }
    const checksum = toHex(h.digest());
    this.stats.contentObjectsTotal++;
    if (await this.hasObject(checksum, ObjectType.File)) return checksum;
    const p = await this.stagedPath(checksum, ObjectType.File);
    await fs.link(srcPath, p);
    await fs.lutimes(p, 0, 0);
    this.record(checksum, ObjectType.File, p);
    this.stats.contentObjectsWritten++;
    this.stats.contentBytesWritten += size;
    return checksum;
  }

  /** Queues a ref change applied when the transaction commits. */
  setRef(remote: string | null, ref: string, checksum: string | null): void {
    this.refUpdates.push({ remote, ref, checksum });
  }

  /** Where a staged object lies (as stagedPath names it). */
  private stagedFile(s: Staged): string {
    return joinPath(this.stagingDir, s.checksum.slice(0, 2), `${s.checksum.slice(2)}.${objectExtension(s.type, this.repo.mode)}`);
  }

  /** The staged objects of the late (commit, commitmeta) or early (every other) kind, one at a time. */
  private *stagedOfKind(late: boolean): IterableIterator<Staged> {
    const set = this.staged;
    for (let slot = 0; slot < set.capacity; slot++) {
      const type = set.typeAt(slot);
      if (type === 0) continue;
      if ((type === ObjectType.Commit || type === ObjectType.CommitMeta) !== late) continue;
      yield { checksum: set.checksumAt(slot), type };
    }
  }

  private async publish(items: Iterable<Staged>): Promise<void> {
    const repo = this.repo;
    for (const s of items) {
      await repo.ensureObjectDir(s.checksum);
      const dest = repo.objectPath(s.checksum, s.type);
      try {
        await repo.fs.rename(this.stagedFile(s), dest);
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
    }
  }

  /** Publishes staged objects, then applies ref updates. */
  async commit(): Promise<TransactionStats> {
    if (this.finished) throw new XylemError('Transaction already finished');
    // ostree's fault injection (OSTREE_REPO_TEST_ERROR=pre-commit): fail before publishing and,
    // like an interrupted libostree transaction, leave the staging folder behind.
    if ((this.repo.host.env?.OSTREE_REPO_TEST_ERROR ?? '').split(',').includes('pre-commit')) {
      this.keepStaging = true;
      throw new XylemError('OSTREE_REPO_TEST_ERROR_PRE_COMMIT');
    }
    await this.lock();
    try {
      return await this.commitLocked();
    } finally {
      await this.unlock();
    }
  }

  private async commitLocked(): Promise<TransactionStats> {
    if (this.deferSyncfs && this.refUpdates.length) throw new XylemError('Transaction: refs cannot move in a transaction that defers its syncfs', 'EINVAL');
    const syncfs = this.repo.fsyncEnabled && this.repo.fs.syncfs && !this.deferSyncfs;
    const commits: string[] = [];
    for (const s of this.stagedOfKind(true)) if (s.type === ObjectType.Commit) commits.push(s.checksum);
    if (this.staged.size > 0) {
      await this.makeDurableStaged();
      await this.publish(this.stagedOfKind(false));
      if (!this.stagedOfKind(true).next().done) {
        if (syncfs) await this.repo.fs.syncfs!(this.repo.path);
        await this.publish(this.stagedOfKind(true));
      }
      if (syncfs && (this.durablePublish || this.refUpdates.length)) await this.repo.fs.syncfs!(this.repo.path);
    }
    // A commit written again replaces its tombstone (prune --delete-commit with tombstones).
    for (const c of commits) await this.repo.deleteObject(c, ObjectType.TombstoneCommit);
    for (const u of this.refUpdates) await setRef(this.repo, u.remote, u.ref, u.checksum);
    await this.cleanup();
    const wroteCommit = commits.length > 0;
    if (this.refUpdates.length || wroteCommit) await updateSummaryIfConfigured(this.repo, wroteCommit ? 'commit' : 'refs');
    return this.stats;
  }

  /** Without syncfs, every staged file was fsync'd when written; the staging dirs are fsync'd here. */
  private async makeDurableStaged(): Promise<void> {
    if (!this.repo.fsyncEnabled) return;
    if (this.repo.fs.syncfs) return this.deferSyncfs ? undefined : this.repo.fs.syncfs(this.repo.path);
    for (const pre of this.stagedDirs) await this.repo.fs.fsyncDir(joinPath(this.stagingDir, pre));
  }

  /** Throws away everything staged. */
  async abort(): Promise<void> {
    try {
      await this.cleanup();
    } finally {
      await this.unlock();
    }
  }

  private async cleanup(): Promise<void> {
    this.finished = true;
    if (this.started && !this.keepStaging) await this.repo.fs.rmrf(this.stagingDir);
  }
}

/** core.auto-update-summary / core.commit-update-summary: regenerate the summary after changes. */
export async function updateSummaryIfConfigured(repo: Repo, reason: 'refs' | 'commit'): Promise<void> {
  const auto = repo.config.getBoolean('core', 'auto-update-summary') === true;
  const onCommit = reason === 'commit' && repo.config.getBoolean('core', 'commit-update-summary') === true;
  if (!auto && !onCommit) return;
  const { maybeUpdateSummary } = await import('../maintenance/summary.ts');
  await maybeUpdateSummary(repo, reason);
}
