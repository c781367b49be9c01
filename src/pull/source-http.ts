// Objects of a remote archive repository reached by URL (http, https, file): metadata objects
// and content from the content URL (`contenturl`, else `url`), detached metadata (signatures)
// from the metadata URL only, as ostree does. Content objects are `.filez` files; big ones are
// downloaded through a partial file under tmp/ so a later pull resumes them with a Range request.

import { ObjectType, objectRelPath, objectTypeName } from '../format/objects.ts';
import { joinPath } from '../util/path.ts';
import type { ObjectSource } from './engine.ts';
import { PULL_MAX_METADATA_SIZE } from './engine.ts';
import { Fetcher, joinUrl } from './fetcher.ts';
import { STREAM_MIN_SIZE, filezCap, ingestFilez, ingestFilezFile, type IngestOptions } from './content.ts';
import type { PullWriter } from './writer.ts';
import type { Repo } from '../repo/repo.ts';

/** Content objects at least this big are downloaded through a resumable partial file. */
export const RESUMABLE_MIN_SIZE = 256 * 1024;

export interface HttpSourceOptions {
  /** Base URL for summary, config, refs and commitmeta. */
  metaUrl: string;
  /** Base URL for objects (contenturl; defaults to metaUrl). */
  contentUrl?: string;
  fetcher: Fetcher;
  /** The destination repo (partial downloads live in its tmp/). */
  dest: Repo;
  ingest: IngestOptions;
  /** Expected sizes of commit objects (from the summary), to refuse oversized answers early. */
  commitSizes?: Map<string, number>;
}

/** Folder of resumable partial downloads in a repo. */
export function partialDir(repo: Repo): string {
  return joinPath(repo.path, 'tmp', 'xylem-pull-partial');
}

export class HttpObjectSource implements ObjectSource {
  readonly local = false;
  private readonly o: HttpSourceOptions;
  /** Partial downloads left by an earlier pull (read once), null until then. */
  private partials: Promise<Set<string>> | null = null;

  constructor(o: HttpSourceOptions) {
    this.o = o;
  }

  objectUrl(csum: string, type: ObjectType, base = this.o.contentUrl ?? this.o.metaUrl): string {
    return joinUrl(base, objectRelPath(csum, type, 'archive'));
  }

  async getMetadata(type: ObjectType, csum: string, optional: boolean): Promise<Uint8Array | null> {
    return this.o.fetcher.get({
      url: this.objectUrl(csum, type),
      optional,
      maxBytes: PULL_MAX_METADATA_SIZE,
      what: `Metadata object ${csum}.${objectTypeName(type)}`,
    });
  }

  async getCommitMeta(csum: string): Promise<Uint8Array | null> {
    return this.o.fetcher.get({
      url: this.objectUrl(csum, ObjectType.CommitMeta, this.o.metaUrl),
      optional: true,
      maxBytes: PULL_MAX_METADATA_SIZE,
      what: `Detached metadata ${csum}.commitmeta`,
    });
  }

  async importContent(csum: string, writer: PullWriter): Promise<number> {
    const dest = this.o.dest;
    const dir = partialDir(dest);
    this.partials ??= dest.fs.mkdir(dir, { recursive: true }).then(async () => new Set((await dest.fs.readdir(dir)).map((e) => e.name)));
    const partials = await this.partials;
    const name = `${csum}.filez`;
    const partialPath = joinPath(dir, name);
    // Big bodies stay in their partial file (streamed from there): memory stays bounded.
    const body = (await this.o.fetcher.getSpillable({
      url: this.objectUrl(csum, ObjectType.File),
      partialPath,
      partialMinSize: RESUMABLE_MIN_SIZE,
      partialMayExist: partials.has(name),
      spillMinSize: STREAM_MIN_SIZE,
      // Capped by the size its header declares: an endless body fails once past it.
      capFromHead: (head) => filezCap(csum, head),
      what: `Content object ${csum}.filez`,
    }))!;
    try {
      if (body instanceof Uint8Array) return await ingestFilez(writer, csum, body, this.o.ingest);
      return await ingestFilezFile(writer, csum, body.file, body.size, this.o.ingest);
    } finally {
      // Verified and written, or corrupt: either way the partial file is of no further use.
      if (!(body instanceof Uint8Array) || body.length >= RESUMABLE_MIN_SIZE) await dest.fs.unlink(partialPath).catch(() => undefined);
    }
  }
}
