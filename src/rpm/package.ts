// A typed view of a package's main header: identity (NEVRA), descriptive fields, the eight
// dependency lists (rich dependencies stay whole, as names) and the changelog, read the way
// `rpm -qp --qf` reads them. Files live in files.ts, scripts and triggers in scripts.ts.

import type { Dependency, Nevra, PackageDependencies } from './types.ts';
import { RpmError, RpmErrorCode } from './errors.ts';
import type { RpmHeader } from './header.ts';
import { Tag } from './tags.ts';

/** Identity and descriptive fields of a package. */
export interface RpmPackageInfo extends Nevra {
  summary: string;
  description: string;
  license: string;
  group: string;
  url: string;
  vendor: string;
  packager: string;
  buildhost: string;
  /** Seconds since the epoch. */
  buildtime: number;
  /** Sum of the file sizes (LONGSIZE when present). */
  size: number;
  /** The source package's file name; null for a source package. */
  sourcerpm: string | null;
  /** True when the header is a source package's (no SOURCERPM). */
  isSource: boolean;
  os: string;
  rpmversion: string;
  /** `cpio` for every package this reader accepts. */
  payloadFormat: string;
  /** `gzip` when the header does not say (rpm's default). */
  payloadCompressor: string;
  payloadFlags: string;
  /** RPMFORMAT (6 for v6 packages), 4 when absent. */
  rpmFormat: number;
  /** rpmbuild's COOKIE (`buildhost buildtime`); '' when absent. */
  cookie: string;
  modularityLabel: string;
}

function str(h: RpmHeader, tag: number): string {
  return h.getString(tag) ?? '';
}

/** The identity of a package. */
export function readNevra(h: RpmHeader): Nevra {
  const name = h.getString(Tag.NAME);
  const version = h.getString(Tag.VERSION);
  const release = h.getString(Tag.RELEASE);
  if (!name || version === undefined || release === undefined) throw new RpmError(RpmErrorCode.HEADER, h.pkg, 'header lacks NAME, VERSION or RELEASE');
  const epoch = h.getNumber(Tag.EPOCH);
  const isSource = !h.has(Tag.SOURCERPM);
  // rpm shows source packages' arch as "src" (the header holds the build arch).
  const arch = isSource ? 'src' : str(h, Tag.ARCH);
  return { name, epoch: epoch === undefined ? null : epoch, version, release, arch };
}

/** Identity and descriptive fields. */
export function readPackageInfo(h: RpmHeader): RpmPackageInfo {
  const nevra = readNevra(h);
  const sourcerpm = h.getString(Tag.SOURCERPM) ?? null;
  const size = h.has(Tag.LONGSIZE) ? h.getNumber(Tag.LONGSIZE)! : (h.getNumber(Tag.SIZE) ?? 0);
  return {
    ...nevra,
    summary: str(h, Tag.SUMMARY),
    description: str(h, Tag.DESCRIPTION),
    license: str(h, Tag.LICENSE),
    group: str(h, Tag.GROUP),
    url: str(h, Tag.URL),
    vendor: str(h, Tag.VENDOR),
    packager: str(h, Tag.PACKAGER),
    buildhost: str(h, Tag.BUILDHOST),
    buildtime: h.getNumber(Tag.BUILDTIME) ?? 0,
    size,
    sourcerpm,
    isSource: sourcerpm === null,
    os: str(h, Tag.OS),
    rpmversion: str(h, Tag.RPMVERSION),
    payloadFormat: h.getString(Tag.PAYLOADFORMAT) ?? 'cpio',
    payloadCompressor: h.getString(Tag.PAYLOADCOMPRESSOR) ?? 'gzip',
    payloadFlags: str(h, Tag.PAYLOADFLAGS),
    rpmFormat: h.getNumber(Tag.RPMFORMAT) ?? 4,
    cookie: str(h, Tag.COOKIE),
    modularityLabel: str(h, Tag.MODULARITYLABEL),
  };
}

/** One (name, flags, version) dependency list; the three arrays must agree in length. */
export function readDependencyList(h: RpmHeader, nameTag: number, flagsTag: number, versionTag: number, what: string): Dependency[] {
  const names = h.getStringArray(nameTag);
  if (names === undefined) return [];
  const flags = h.getNumbers(flagsTag) ?? [];
  const versions = h.getStringArray(versionTag) ?? [];
  if ((h.has(flagsTag) && flags.length !== names.length) || (h.has(versionTag) && versions.length !== names.length))
    throw new RpmError(RpmErrorCode.HEADER, h.pkg, `${what} lists disagree in length (${names.length} names, ${flags.length} flags, ${versions.length} versions)`);
  const out = new Array<Dependency>(names.length);
  for (let i = 0; i < names.length; i++) out[i] = { name: names[i]!, flags: flags[i] ?? 0, version: versions[i] ?? '' };
  return out;
}

/** The eight dependency lists. */
export function readDependencies(h: RpmHeader): PackageDependencies {
  const T = Tag;
  return {
    provides: readDependencyList(h, T.PROVIDENAME, T.PROVIDEFLAGS, T.PROVIDEVERSION, 'provides'),
    requires: readDependencyList(h, T.REQUIRENAME, T.REQUIREFLAGS, T.REQUIREVERSION, 'requires'),
    conflicts: readDependencyList(h, T.CONFLICTNAME, T.CONFLICTFLAGS, T.CONFLICTVERSION, 'conflicts'),
    obsoletes: readDependencyList(h, T.OBSOLETENAME, T.OBSOLETEFLAGS, T.OBSOLETEVERSION, 'obsoletes'),
    recommends: readDependencyList(h, T.RECOMMENDNAME, T.RECOMMENDFLAGS, T.RECOMMENDVERSION, 'recommends'),
    suggests: readDependencyList(h, T.SUGGESTNAME, T.SUGGESTFLAGS, T.SUGGESTVERSION, 'suggests'),
    supplements: readDependencyList(h, T.SUPPLEMENTNAME, T.SUPPLEMENTFLAGS, T.SUPPLEMENTVERSION, 'supplements'),
    enhances: readDependencyList(h, T.ENHANCENAME, T.ENHANCEFLAGS, T.ENHANCEVERSION, 'enhances'),
  };
}

/** OrderWithRequires (`%{ORDERNAME}`), kept apart from the eight solver lists. */
export function readOrderDependencies(h: RpmHeader): Dependency[] {
  return readDependencyList(h, Tag.ORDERNAME, Tag.ORDERFLAGS, Tag.ORDERVERSION, 'order');
}

/** One changelog entry. */
export interface ChangelogEntry {
  /** Seconds since the epoch (a date; rpm stores noon of the day). */
  time: number;
  /** `Author <mail> - version`. */
  name: string;
  text: string;
}

/** The changelog, newest first as stored. */
export function readChangelog(h: RpmHeader): ChangelogEntry[] {
  const times = h.getNumbers(Tag.CHANGELOGTIME) ?? [];
  const names = h.getStringArray(Tag.CHANGELOGNAME) ?? [];
  const texts = h.getStringArray(Tag.CHANGELOGTEXT) ?? [];
  if (names.length !== times.length || texts.length !== times.length)
    throw new RpmError(RpmErrorCode.HEADER, h.pkg, `changelog lists disagree in length (${times.length} times, ${names.length} names, ${texts.length} texts)`);
  return times.map((time, i) => ({ time, name: names[i]!, text: texts[i]! }));
}
