// `rpmostree.rpmdb.pkglist`: the package list rpm-ostree stores in a composed commit's metadata
// (a(sssss): name, epoch as a decimal string — "0" when unset —, version, release, arch), sorted
// by name, then EVR, then arch (reference note rpm-packages.md §7.3). `db diff`, `db list` and
// `db version` read it instead of the rpmdb, as rpm-ostree does when it is present.

import type { GVVariant } from '../format/gvariant.ts';
import type { Metadata } from '../format/objects.ts';
import type { Nevra } from '../rpm/types.ts';
import { formatNevra } from '../rpm/types.ts';
import { CorruptionError } from '../util/errors.ts';
import { comparePackageEvr as compareEvr } from '../solve/version.ts';
import { pkglistVariant } from '../rpmdb/pkglist.ts';

export const PKGLIST_KEY = 'rpmostree.rpmdb.pkglist';
/** More packages than any real OS holds; a larger list is refused before it is walked. */
export const MAX_PKGLIST = 200_000;

/** Byte order of two strings (strcmp), not locale order. */
export function strcmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order of the pkglist: name, then EVR, then arch. */
export function comparePackages(a: Nevra, b: Nevra): number {
  return strcmp(a.name, b.name) || compareEvr(a, b) || strcmp(a.arch, b.arch);
}

/** Sorted copy of `pkgs` encoded as the pkglist variant (src/rpmdb's encoder). */
export function encodePkglist(pkgs: readonly Nevra[]): GVVariant {
  return pkglistVariant(pkgs);
}

/** The packages of a commit's metadata, or null when it has no pkglist. `what` names the commit in errors. */
export function readPkglist(metadata: Metadata, what: string): Nevra[] | null {
  const entry = metadata.find(([k]) => k === PKGLIST_KEY);
  if (!entry) return null;
  const v = entry[1];
  if (v.type !== 'a(sssss)' || !Array.isArray(v.value)) throw new CorruptionError(`${what}: ${PKGLIST_KEY} has type '${v.type}', expected 'a(sssss)'`);
  if (v.value.length > MAX_PKGLIST) throw new CorruptionError(`${what}: ${PKGLIST_KEY} lists ${v.value.length} packages (limit ${MAX_PKGLIST})`);
  return v.value.map((t) => {
    const [name, epoch, version, release, arch] = t as string[];
    if (!/^\d{1,10}$/.test(epoch!)) throw new CorruptionError(`${what}: ${PKGLIST_KEY}: package ${name} has epoch '${epoch}'`);
    const e = Number(epoch);
    return { name: name!, epoch: e === 0 ? null : e, version: version!, release: release!, arch: arch! };
  });
}

/** `name-[E:]V-R.A` lines, as `db list` prints them. */
export function nevraList(pkgs: readonly Nevra[]): string[] {
  return pkgs.map(formatNevra);
}
