// Objects of a local repository in any mode (pull-local, file:// remotes, --localcache-repo).
// Content is re-checksummed while it is written (writeContent verifies), unless both repos are
// archive and the source is trusted: then the `.filez` file is hardlinked as ostree does. Bare
// repos of one mode (and bare-user into bare-user-only) hardlink too, verifying untrusted content.

import type { Repo } from '../repo/repo.ts';
import { ObjectType, archiveHeader, isReg } from '../format/objects.ts';
import { CorruptionError, errnoCode } from '../util/errors.ts';
import type { ObjectSource } from './engine.ts';
import { STREAM_MIN_SIZE, checkBareUserOnly, contentChecksum } from './content.ts';
import type { PullWriter } from './writer.ts';

export interface LocalSourceOptions {
  /** Trusted sources may be hardlinked without re-verification (not --untrusted). */
  trusted: boolean;
  bareuseronlyFiles: boolean;
}

export class LocalRepoSource implements ObjectSource {
  readonly local = true;
  readonly trusted: boolean;
  readonly repo: Repo;
  private readonly o: LocalSourceOptions;

  constructor(repo: Repo, o: LocalSourceOptions) {
    this.repo = repo;
    this.o = o;
    this.trusted = o.trusted;
  }

  async getMetadata(type: ObjectType, csum: string, optional: boolean): Promise<Uint8Array | null> {
    if (optional && !(await this.repo.hasObject(csum, type))) return null;
    return this.repo.loadMetadataBytes(type, csum);
  }

  async getCommitMeta(csum: string): Promise<Uint8Array | null> {
    try {
      return await this.repo.fs.readFile(this.repo.objectPath(csum, ObjectType.CommitMeta));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw e;
    }
  }

  hasContent(csum: string): Promise<boolean> {
    return this.repo.hasObject(csum, ObjectType.File);
  }

  /**
   * Linking a bare object keeps its owner, mode and xattrs, which a copy would lose: only on one
   * filesystem, and (unless root) for objects we own (protected_hardlinks would refuse others).
   */
  private async canLink(objPath: string, writer: PullWriter): Promise<boolean> {
    const fs = writer.repo.fs;
    const [st, destObjects] = await Promise.all([fs.lstat(objPath), fs.lstat(`${writer.repo.path}/objects`)]);
    if (!st || !destObjects || st.dev !== destObjects.dev) return false;
    const uid = writer.repo.host.uid;
    return uid === undefined || uid === 0 || st.uid === uid;
  }

  linkMetadata(type: ObjectType, csum: string, writer: PullWriter): Promise<boolean> {
    return writer.linkMetadataObject(type, csum, this.repo.objectPath(csum, type));
  }

  async importContent(csum: string, writer: PullWriter): Promise<number> {
    const obj = await this.repo.loadFile(csum);
    if (this.o.bareuseronlyFiles) checkBareUserOnly(csum, obj.header);
    const size = isReg(obj.header.mode) ? obj.size : 0;
    if (this.o.trusted && this.repo.mode === 'archive' && writer.repo.mode === 'archive') {
      await writer.linkArchiveObject(csum, obj.path, size);
      return size;
    }
    // As libostree, objects of two bare repos of one mode are hardlinked (and a bare-user
    // regular file into bare-user-only); an untrusted source's content is verified first.
    const src = this.repo.mode;
    const dest = writer.repo.mode;
    const sameBare = src === dest && src !== 'archive';
    if ((sameBare || (src === 'bare-user' && dest === 'bare-user-only' && isReg(obj.header.mode))) && (await this.canLink(obj.path, writer))) {
      if (dest === 'bare-user-only') checkBareUserOnly(csum, obj.header);
      if (!this.o.trusted) {
        const actual = contentChecksum(writer.repo, obj.header, await obj.read());
        if (actual !== csum) throw new CorruptionError(`Corrupted file object; checksum expected='${csum}' actual='${actual}'`);
      }
      await writer.linkArchiveObject(csum, obj.path, size);
      return size;
    }
    if (dest !== 'archive' && isReg(obj.header.mode) && obj.size >= STREAM_MIN_SIZE) {
      // Big: read (and inflated) chunk by chunk straight into the staged file, hashed on the way.
      await writer.writeContentStream(obj.header, obj.size, obj.stream(), csum);
      return obj.size;
    }
    const data = await obj.read();
    if (this.o.trusted && dest === 'archive') {
      // As ostree's trusted import: stored under the source's name without re-checksumming
      // (a corrupt trusted source makes a corrupt copy, which fsck and HTTP pulls then catch).
      const head = archiveHeader(obj.header, size);
      const body = isReg(obj.header.mode) ? await writer.repo.deflate.deflateRaw(data, archiveZlibLevel(writer.repo)) : new Uint8Array(0);
      const filez = new Uint8Array(head.length + body.length);
      filez.set(head, 0);
      filez.set(body, head.length);
      await writer.storeRawArchiveObject(csum, filez, size);
      return data.length;
    }
    await writer.writeContent(obj.header, data, csum);
    return data.length;
  }
}

/** The archive repo's configured zlib level (archive.zlib-level, default 6 as ostree). */
function archiveZlibLevel(repo: Repo): number {
  const lvl = repo.config.getInteger('archive', 'zlib-level');
  return lvl !== undefined && lvl >= 0 && lvl <= 9 ? lvl : 6;
}
