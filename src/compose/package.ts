// The seam between compose and the RPM reader: what compose needs of one package. src/rpm's
// RpmPackage (openRpm / parseRpm) has this shape, so it plugs in as is; tests may pass any other
// implementation. Kept structural on purpose: compose never constructs packages itself.

import type { Nevra } from '../rpm/types.ts';
import type { RpmFile } from '../rpm/files.ts';

/** One file of a package as its header describes it: the part of src/rpm's RpmFile compose uses. */
export type ComposeFile = Pick<RpmFile, 'index' | 'path' | 'mode' | 'size' | 'user' | 'group' | 'mtime' | 'linkto' | 'flags' | 'ghost' | 'doc' | 'caps'> &
  Partial<Pick<RpmFile, 'lang'>>;

/** One payload entry in archive order (a subset of src/rpm's PayloadEntry). */
export interface ComposeEntry {
  file: ComposeFile;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  /** The other members of this file's hardlink set (they share its content). */
  hardlinks: ComposeFile[];
  /** Content of a regular file, streamed (consume before the next entry). */
  data: AsyncIterable<Uint8Array>;
}

/** One script of a package, as src/rpm's readScripts gives it. */
export interface ComposeScript {
  kind: string;
  body: string;
  prog: string[];
  flags?: number;
}

/** A trigger as src/rpm reads it (conditions are package deps, or path prefixes for file triggers). */
export interface ComposeTrigger {
  kind: 'triggerprein' | 'triggerin' | 'triggerun' | 'triggerpostun';
  conditions: Array<{ name: string; flags: number; version: string }>;
  body: string;
  prog: string[];
  flags: number;
  priority?: number;
}

/** A package compose can import, assemble and register in the rpmdb. */
export interface ComposePackage {
  readonly nevra: Nevra;
  /** Lead + signature header + padding + main header: `rpmostree.metadata`. */
  readonly metadataBytes: Uint8Array;
  /** The main header (magic to end): what the rpmdb stores. */
  readonly headerBytes: Uint8Array;
  /** The name errors use (file name or NEVRA). */
  readonly pkg: string;
  info(): { buildtime: number };
  files(): ComposeFile[];
  entries(): AsyncIterable<ComposeEntry>;
  scripts?(): ComposeScript[];
  triggers?(): ComposeTrigger[];
  fileTriggers?(): ComposeTrigger[];
  transFileTriggers?(): ComposeTrigger[];
}
