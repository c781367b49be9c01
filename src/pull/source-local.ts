// Objects of a local repository in any mode (pull-local, file:// remotes, --localcache-repo).
// Content is re-checksummed while it is written (writeContent verifies), unless both repos are
// archive and the source is trusted: then the `.filez` file is hardlinked as ostree does.

import type { Repo } from '../repo/repo.ts';
import { ObjectType, isReg } from '../format/objects.ts';
import { errnoCode } from '../util/errors.ts';
import type { ObjectSource } from './engine.ts';
import { checkBareUserOnly } from './content.ts';
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

  async importContent(csum: string, writer: PullWriter): Promise<number> {
    const obj = await this.repo.loadFile(csum);
    if (this.o.bareuseronlyFiles) checkBareUserOnly(csum, obj.header);
    const size = isReg(obj.header.mode) ? obj.size : 0;
    if (this.o.trusted && this.repo.mode === 'archive' && writer.repo.mode === 'archive') {
      await writer.linkArchiveObject(csum, obj.path, size);
      return size;
    }
    const data = await obj.read();
    await writer.writeContent(obj.header, data, csum);
    return data.length;
  }
}
