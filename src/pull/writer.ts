// Where a pull writes: a chain of Transactions published in batches, so an interrupted pull keeps
// the objects it already wrote (the next pull finds them and does not fetch them again). Ref
// updates are held back and applied only by finish(), after every object is published; abort()
// drops the unpublished batch and never touches refs. Also stores archive `.filez` objects
// verbatim (mirroring into an archive repo) and hardlinks objects from a local archive source.

import type { Repo } from '../repo/repo.ts';
import { randomSuffix } from '../util/atomic-write.ts';
import { Transaction, sharedStaging, type SharedStaging, type TransactionStats } from '../repo/transaction.ts';
import { ObjectType, type FileHeader } from '../format/objects.ts';
import { joinPath } from '../util/path.ts';
import { errnoCode } from '../util/errors.ts';
import { ObjectSet } from '../util/object-set.ts';

export interface PullWriterOptions {
  /** Publish after this many objects (default 2048). */
  batchObjects?: number;
  /** … or after this many bytes written (default 64 MiB). */
  batchBytes?: number;
  /** … or when the batch is this old (default 1000 ms): bounds what a killed pull loses. */
  batchMs?: number;
}

export class PullWriter {
  readonly repo: Repo;
  private txn: Transaction;
  private readonly staging: SharedStaging;
  private pending = new Set<Promise<unknown>>();
  private inBatch = 0;
  private bytesInBatch = 0;
  private readonly batchObjects: number;
  private readonly batchBytes: number;
  private readonly batchMs: number;
  private batchStart = Date.now();
  private refUpdates: Array<{ remote: string | null; ref: string; checksum: string | null }> = [];
  /** Objects written by this pull (compact: see object-set.ts). */
  private written = new ObjectSet();
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private flushError: unknown = null;
  readonly stats: TransactionStats = {
    metadataObjectsTotal: 0,
    metadataObjectsWritten: 0,
    contentObjectsTotal: 0,
    contentObjectsWritten: 0,
    contentBytesWritten: 0,
  };
  /** Writes currently in progress. */
  get outstandingWrites(): number {
    return this.pending.size;
  }

  constructor(repo: Repo, opts: PullWriterOptions = {}) {
    this.repo = repo;
    this.staging = sharedStaging(repo);
    this.txn = this.batchTransaction();
    this.batchObjects = opts.batchObjects ?? 2048;
    this.batchBytes = opts.batchBytes ?? 64 * 1024 * 1024;
    this.batchMs = opts.batchMs ?? 1000;
  }

  /** A batch: its renames are made durable by the next batch's syncfs or the one before the refs move. */
  private batchTransaction(): Transaction {
    const t = new Transaction(this.repo, this.staging);
    t.durablePublish = false;
    return t;
  }

  /** Whether the object is in the repo or written by this pull. */
  async has(csum: string, type: ObjectType): Promise<boolean> {
    if (this.written.has(csum, type)) return true;
    return this.repo.hasObject(csum, type);
  }

  private async track<T>(bytes: number, f: (t: Transaction) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('PullWriter: already finished');
    if (this.flushError) throw this.flushError;
    const t = this.txn;
    const p = f(t);
    this.pending.add(p);
    try {
      return await p;
    } finally {
      this.pending.delete(p);
      this.inBatch++;
      this.bytesInBatch += bytes;
      if (!this.closed && (this.inBatch >= this.batchObjects || this.bytesInBatch >= this.batchBytes || Date.now() - this.batchStart >= this.batchMs))
        this.rotate();
    }
  }

  /** Starts a new transaction and publishes the previous one once its writes settle. */
  private rotate(): void {
    const old = this.txn;
    const oldPending = [...this.pending];
    this.txn = this.batchTransaction();
    this.inBatch = 0;
    this.bytesInBatch = 0;
    this.batchStart = Date.now();
    this.flushing = this.flushing.then(async () => {
      await Promise.allSettled(oldPending);
      addStats(this.stats, await old.commit());
    }).catch((e: unknown) => {
      this.flushError ??= e;
    });
  }

  async writeMetadata(type: ObjectType, bytes: Uint8Array, csum: string): Promise<void> {
    await this.track(bytes.length, (t) => t.writeMetadata(type, bytes, csum));
    this.written.add(csum, type);
  }

  async writeCommitMeta(commit: string, bytes: Uint8Array): Promise<void> {
    await this.track(bytes.length, (t) => t.writeCommitMeta(commit, bytes));
  }

  async writeContent(header: FileHeader, content: Uint8Array, csum: string): Promise<void> {
    await this.track(content.length, (t) => t.writeContent(header, content, csum));
    this.written.add(csum, ObjectType.File);
  }

  /** Writes a content object whose checksum the caller verified (see Transaction.writeVerifiedContent). */
  async writeVerifiedContent(header: FileHeader, content: Uint8Array, csum: string): Promise<void> {
    await this.track(content.length, (t) => t.writeVerifiedContent(csum, header, content));
    this.written.add(csum, ObjectType.File);
  }

  /** Writes a big regular file's content as it is inflated (see Transaction.writeContentStream). */
  async writeContentStream(header: FileHeader, size: number, content: AsyncIterable<Uint8Array>, csum: string): Promise<void> {
    await this.track(size, (t) => t.writeContentStream(csum, header, size, content));
    this.written.add(csum, ObjectType.File);
  }

  /**
   * Stores an archive object's bytes as they are (dest must be an archive repo; the caller has
   * verified them or trusts the source). Written beside the object and renamed into place.
   */
  async storeRawArchiveObject(csum: string, filez: Uint8Array, contentSize: number): Promise<void> {
    await this.storeRaw(csum, ObjectType.File, filez);
    this.stats.contentObjectsTotal++;
    this.stats.contentObjectsWritten++;
    this.stats.contentBytesWritten += contentSize;
  }

  /**
   * Stores a metadata object's bytes under the given checksum without re-verifying them (trusted
   * local sources, as ostree's trusted import does).
   */
  async storeRawMetadata(type: ObjectType, bytes: Uint8Array, csum: string): Promise<void> {
    if (await this.has(csum, type)) return;
    await this.storeRaw(csum, type, bytes);
    this.stats.metadataObjectsTotal++;
    this.stats.metadataObjectsWritten++;
  }

  private async storeRaw(csum: string, type: ObjectType, data: Uint8Array): Promise<void> {
    const repo = this.repo;
    await repo.ensureObjectDir(csum);
    const dest = repo.objectPath(csum, type);
    const tmp = joinPath(repo.path, 'tmp', `fetch-${csum.slice(0, 16)}-${randomSuffix()}`);
    await repo.fs.writeFile(tmp, data, { mode: 0o644, fsync: repo.fsyncEnabled });
    try {
      await repo.fs.rename(tmp, dest);
    } catch (e) {
      await repo.fs.unlink(tmp).catch(() => undefined);
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    this.written.add(csum, type);
  }

  /**
   * Hardlinks a metadata object of a local source repo into place (metadata files are the same
   * in every mode). False when the link is impossible (another filesystem, …): the caller copies.
   */
  async linkMetadataObject(type: ObjectType, csum: string, srcPath: string): Promise<boolean> {
    const repo = this.repo;
    await repo.ensureObjectDir(csum);
    try {
      await repo.fs.link(srcPath, repo.objectPath(csum, type));
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK' || code === 'ENOENT') return false;
      if (code !== 'EEXIST') throw e;
    }
    this.written.add(csum, type);
    this.stats.metadataObjectsTotal++;
    this.stats.metadataObjectsWritten++;
    return true;
  }

  /** Hardlinks (or copies, across filesystems) an archive object file of a local source repo. */
  async linkArchiveObject(csum: string, srcPath: string, contentSize: number): Promise<void> {
    const repo = this.repo;
    await repo.ensureObjectDir(csum);
    const dest = repo.objectPath(csum, ObjectType.File);
    try {
      await repo.fs.link(srcPath, dest);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EEXIST') return;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw e;
      const tmp = joinPath(repo.path, 'tmp', `fetch-${csum.slice(0, 16)}-${randomSuffix()}`);
      await repo.fs.copyFile(srcPath, tmp);
      await repo.fs.chmod(tmp, 0o644);
      await repo.fs.rename(tmp, dest);
    }
    this.written.add(csum, ObjectType.File);
    this.stats.contentObjectsTotal++;
    this.stats.contentObjectsWritten++;
    this.stats.contentBytesWritten += contentSize;
  }

  /** Queues a ref change; applied by finish() only. */
  setRef(remote: string | null, ref: string, checksum: string | null): void {
    this.refUpdates.push({ remote, ref, checksum });
  }

  /** Publishes everything, then moves the refs (in one last transaction). */
  async finish(): Promise<TransactionStats> {
    this.rotate();
    await this.flushing;
    if (this.flushError) throw this.flushError;
    this.closed = true;
    const last = this.txn;
    last.durablePublish = true;
    // Earlier batches left their renames to be made durable: before any ref moves.
    if (this.repo.fsyncEnabled && this.repo.fs.syncfs) await this.repo.fs.syncfs(this.repo.path);
    for (const u of this.refUpdates) last.setRef(u.remote, u.ref, u.checksum);
    addStats(this.stats, await last.commit());
    await this.repo.fs.rmrf(this.staging.dir);
    return this.stats;
  }

  /** Drops the unpublished batch (already published batches stay: they are only objects). */
  async abort(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending]);
    await this.flushing;
    await this.txn.abort().catch(() => undefined);
    await this.repo.fs.rmrf(this.staging.dir).catch(() => undefined);
  }
}

function addStats(into: TransactionStats, s: TransactionStats): void {
  into.metadataObjectsTotal += s.metadataObjectsTotal;
  into.metadataObjectsWritten += s.metadataObjectsWritten;
  into.contentObjectsTotal += s.contentObjectsTotal;
  into.contentObjectsWritten += s.contentObjectsWritten;
  into.contentBytesWritten += s.contentBytesWritten;
}
