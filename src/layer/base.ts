// The base package set of a layered build: every package the base commit's rpmdb records, with
// its dependencies (for the solver, where they are locked) and its files (for override remove
// and replace). rpm-ostree loads the same set from the base's rpmdb (rpmostree-core.cxx,
// rpmostree_get_base_refsack_for_root).

import type { Host } from '../host.ts';
import { parseHeader, readDependencies, readFiles, readNevra, type RpmHeader } from '../rpm/index.ts';
import type { Nevra, PackageDependencies } from '../rpm/types.ts';
import { readRpmdb } from '../rpmdb/index.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';

/** One package of the base tree. */
export interface BasePackage {
  nevra: Nevra;
  deps: PackageDependencies;
  /** Absolute paths and modes of the files the header lists (ghosts excluded). */
  files: Array<{ path: string; mode: number }>;
  /** The installed header blob (no magic), as the rpmdb holds it. */
  blob: Uint8Array;
}

/** The rpmdb of a checked-out tree, as rpm-ostree places it. */
export const TREE_RPMDB = 'usr/share/rpm/rpmdb.sqlite';

/** Parses an installed header blob (rpmdb row) into the RPM reader's header. */
export function blobHeader(blob: Uint8Array, what: string): RpmHeader {
  return parseHeader(blob, { pkg: what, regionTag: 63, noMagic: true });
}

/** Reads the base package set from the rpmdb of the tree checked out at `root`. */
export async function readBasePackages(host: Host, root: string): Promise<BasePackage[]> {
  if (typeof root !== 'string' || root === '') throw new TypeError('readBasePackages: a root is required');
  const file = joinPath(root, TREE_RPMDB);
  if (!(await host.fs.lstat(file))) throw new XylemError(`The base tree has no rpmdb (${TREE_RPMDB}): it was not composed from packages, nothing can be layered on it`, 'ENORPMDB');
  const out: BasePackage[] = [];
  for (const p of await readRpmdb(host, file)) {
    const h = blobHeader(p.blob, `${TREE_RPMDB} #${p.hnum}`);
    const nevra = readNevra(h);
    if (nevra.name === 'gpg-pubkey') continue;
    const files = readFiles(h)
      .filter((f) => !f.ghost)
      .map((f) => ({ path: f.path, mode: f.mode }));
    out.push({ nevra, deps: readDependencies(h), files, blob: p.blob });
  }
  return out;
}
