// The package object the rest of Xylem uses: a package's headers read and checked up front
// (parseRpm for bytes in memory, openRpm for a file read by position), typed views of them on
// demand, and the payload streamed entry by entry from the source without ever holding it whole.

import type { ReadHandle } from '../host.ts';
import type { Nevra, PackageDependencies } from './types.ts';
import { readPayload, type PayloadEntry, type ReadPayloadOptions } from './archive.ts';
import { readFiles, type RpmFile } from './files.ts';
import type { RpmHeader } from './header.ts';
import { parseRpmHeaders, readRpmHeaders, type RpmHeaders, type RpmLayout } from './layout.ts';
import type { RpmLead } from './lead.ts';
import { readChangelog, readDependencies, readNevra, readPackageInfo, type ChangelogEntry, type RpmPackageInfo } from './package.ts';
import { readFileTriggers, readScripts, readTransFileTriggers, readTriggers, type RpmFileTrigger, type RpmScript, type RpmTrigger } from './scripts.ts';
import { bytesSource, handleSource, readChunks, type RpmSource } from './source.ts';

/** A package whose headers have been read; the payload is read on request. */
export class RpmPackage {
  private cache = new Map<string, unknown>();
  constructor(
    readonly headers: RpmHeaders,
    private readonly source: RpmSource,
  ) {}

  /** The name errors use. */
  get pkg(): string {
    return this.headers.pkg;
  }
  get lead(): RpmLead {
    return this.headers.lead;
  }
  get signature(): RpmHeader {
    return this.headers.signature;
  }
  get header(): RpmHeader {
    return this.headers.header;
  }
  get layout(): RpmLayout {
    return this.headers.layout;
  }
  /** The main header's bytes (magic to end): what header digests and signatures cover. */
  get headerBytes(): Uint8Array {
    return this.headers.header.bytes;
  }
  /** Lead + signature header + padding + main header (rpm-ostree's `rpmostree.metadata`). */
  get metadataBytes(): Uint8Array {
    return this.headers.metadataBytes;
  }

  private memo<T>(key: string, f: () => T): T {
    if (!this.cache.has(key)) this.cache.set(key, f());
    return this.cache.get(key) as T;
  }

  get nevra(): Nevra {
    return this.memo('nevra', () => readNevra(this.header));
  }
  info(): RpmPackageInfo {
    return this.memo('info', () => readPackageInfo(this.header));
  }
  dependencies(): PackageDependencies {
    return this.memo('deps', () => readDependencies(this.header));
  }
  files(): RpmFile[] {
    return this.memo('files', () => readFiles(this.header));
  }
  scripts(): RpmScript[] {
    return this.memo('scripts', () => readScripts(this.header));
  }
  triggers(): RpmTrigger[] {
    return this.memo('triggers', () => readTriggers(this.header));
  }
  fileTriggers(): RpmFileTrigger[] {
    return this.memo('ftriggers', () => readFileTriggers(this.header));
  }
  transFileTriggers(): RpmFileTrigger[] {
    return this.memo('tftriggers', () => readTransFileTriggers(this.header));
  }
  changelog(): ChangelogEntry[] {
    return this.memo('changelog', () => readChangelog(this.header));
  }

  /** The compressed payload, chunk by chunk, from the source. */
  payloadChunks(chunkSize = 256 * 1024): AsyncGenerator<Uint8Array> {
    return readChunks(this.source, this.layout.headerEnd, chunkSize);
  }

  /** The payload's files in archive order, checked against the header (see archive.ts); pass the Host's `hash` for fast SHA-256. */
  entries(opts: ReadPayloadOptions = {}): AsyncGenerator<PayloadEntry> {
    return readPayload(this.headers, this.payloadChunks(), opts);
  }
}

/** Reads a package held in memory. `name` (its file name, say) is how errors refer to it. */
export function parseRpm(bytes: Uint8Array, name = 'package'): RpmPackage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseRpm: expected a Uint8Array');
  return new RpmPackage(parseRpmHeaders(bytes, name), bytesSource(bytes));
}

/**
 * Reads a package's headers from a source (an open file handle, bytes, or any positional reader);
 * the payload is streamed later by entries(). The caller keeps the handle open while reading. An
 * object with close() is taken for a Host ReadHandle (read(buf, offset, length, position)); one
 * without for an RpmSource (read(position, length)).
 */
export async function openRpm(source: RpmSource | ReadHandle | Uint8Array, name = 'package'): Promise<RpmPackage> {
  let src: RpmSource;
  if (source instanceof Uint8Array) src = bytesSource(source);
  // a ReadHandle (Host.fs.openRead) has close(); an RpmSource only read(position, length)
  else if (source && typeof (source as ReadHandle).close === 'function' && typeof source.read === 'function') src = handleSource(source as ReadHandle);
  else if (source && typeof (source as RpmSource).read === 'function') src = source as RpmSource;
  else throw new TypeError('openRpm: expected bytes, a ReadHandle or an RpmSource');
  return new RpmPackage(await readRpmHeaders(src, name), src);
}
