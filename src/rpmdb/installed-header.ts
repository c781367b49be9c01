// The header blob rpm stores in the rpmdb for an installed package: the package's main header
// (its immutable region kept byte-for-byte) plus the "dribble" entries librpm adds on install —
// signature-header tags merged under their header numbers (headerMergeLegacySigs: 1000→257
// SIGSIZE, 1004→261 SIGMD5, 1007→1046 ARCHIVESIZE, 269/273 digests, 267/268 signatures, …),
// FILESTATES, INSTALLTID, INSTALLTIME, INSTALLCOLOR (psm dbAdd), INSTPREFIXES for relocatable
// packages, SOURCERPM "(none)" for binary packages lacking one (applyRetrofits) — laid out as
// headerExport does (rpm-packages.md §1.2, §4; checked against rpm 4.18 `--justdb` installs).

import { CorruptionError, XylemError } from '../util/errors.ts';
import type { HeaderBlob } from './header-blob.ts';
import { HeaderType } from './header-blob.ts';
import type { HeaderValue } from './header-writer.ts';
import { appendDribbles, charValue, int32Value, stringValue } from './header-writer.ts';
import type { RpmHeaders } from './rpm-file.ts';

/** Main-header tags the installed header involves. */
export const InstallTag = {
  SIGSIZE: 257,
  SIGMD5: 261,
  SHA1HEADER: 269,
  SHA256HEADER: 273,
  INSTALLTIME: 1008,
  FILESTATES: 1029,
  ARCHIVESIZE: 1046,
  SOURCERPM: 1044,
  OLDFILENAMES: 1027,
  PREFIXES: 1098,
  INSTPREFIXES: 1099,
  SOURCEPACKAGE: 1106,
  DIRNAMES: 1118,
  BASENAMES: 1117,
  INSTALLCOLOR: 1127,
  INSTALLTID: 1128,
} as const;

/** rpm's file states (rpmfiles.h). */
export const FileState = { NORMAL: 0, REPLACED: 1, NOTINSTALLED: 2, NETSHARED: 3, WRONGCOLOR: 4 } as const;

/**
 * Signature-header tags librpm merges into the installed header: [sig tag, header tag, type,
 * required count (0 = any), "quirk" (the header tag may already be in the main header instead)].
 */
const SIG_MERGE: readonly (readonly [number, number, number, number, boolean])[] = [
  [1000, 257, HeaderType.INT32, 1, false],
  [1002, 259, HeaderType.BIN, 0, false],
  [1004, 261, HeaderType.BIN, 16, false],
  [1005, 262, HeaderType.BIN, 0, false],
  [1007, 1046, HeaderType.INT32, 1, true],
  [274, 5090, HeaderType.STRING_ARRAY, 0, true],
  [275, 5091, HeaderType.INT32, 1, true],
  [276, 276, HeaderType.STRING_ARRAY, 0, false],
  [277, 277, HeaderType.INT32, 1, false],
  [269, 269, HeaderType.STRING, 1, false],
  [273, 273, HeaderType.STRING, 1, false],
  [267, 267, HeaderType.BIN, 0, false],
  [268, 268, HeaderType.BIN, 0, false],
  [270, 270, HeaderType.INT64, 1, false],
  [271, 271, HeaderType.INT64, 1, false],
];
const MAX_SIG_COUNT = 16 * 1024 * 1024;

/** What the installing transaction contributes. */
export interface InstallOptions {
  /** INSTALLTIME, seconds since the epoch. */
  installTime: number;
  /** INSTALLTID (rpm: the transaction's start time); default installTime. */
  tid?: number;
  /** INSTALLCOLOR: the transaction color (%_transaction_color; 3 on x86_64, aarch64, ppc64le, s390x). Default 3. */
  installColor?: number;
  /**
   * FILESTATES, one per file in header order (FileState values); default every file NORMAL, as a
   * `--justdb` install records (even with --excludedocs: rpm 4.18 skips no files in justdb mode).
   */
  fileStates?: Uint8Array;
}

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TypeError(`installedHeader: ${name} must be a u32 (got ${v})`);
}

/** The signature tags merged into the installed header, as dribble values. */
function mergedSignatureTags(sig: HeaderBlob, main: HeaderBlob, what: string): HeaderValue[] {
  const out: HeaderValue[] = [];
  for (const [stag, xtag, , , quirk] of SIG_MERGE) {
    if (main.has(xtag)) {
      if (quirk && !sig.has(stag)) continue;
      throw new CorruptionError(`${what}: invalid signature tag ${xtag}: the main header already holds it`);
    }
  }
  for (const [stag, xtag, type, count] of SIG_MERGE) {
    const e = sig.entry(stag);
    if (!e) continue;
    if (e.type !== type) throw new CorruptionError(`${what}: signature tag ${stag} has type ${e.type}, expected ${type}`);
    if (e.count < 1 || e.count > MAX_SIG_COUNT || (count !== 0 && e.count !== count)) throw new CorruptionError(`${what}: signature tag ${stag} has count ${e.count}`);
    out.push({ tag: xtag, type, count: e.count, data: sig.raw(stag)!.slice() });
  }
  return out;
}

/**
 * The rpmdb blob of `pkg` installed by a transaction described by `opts`. Refuses source packages
 * and ancient (v3, uncompressed file list) headers, which librpm would convert first.
 */
export function installedHeader(pkg: RpmHeaders, opts: InstallOptions): Uint8Array {
  if (!pkg || typeof pkg !== 'object' || !pkg.main || !pkg.signature) throw new TypeError('installedHeader: package headers are required');
  if (!opts || typeof opts !== 'object') throw new TypeError('installedHeader: install options are required');
  const tid = opts.tid ?? opts.installTime;
  checkU32('installTime', opts.installTime);
  checkU32('tid', tid);
  const color = opts.installColor ?? 3;
  checkU32('installColor', color);
  const main = pkg.main;
  const what = main.what;
  if (main.regionEntries === 0) throw new XylemError(`${what}: header has no immutable region (v3 package); not supported`, 'EUNSUPPORTED');
  if (main.has(InstallTag.OLDFILENAMES)) throw new XylemError(`${what}: header uses an uncompressed file list (OLDFILENAMES); not supported`, 'EUNSUPPORTED');
  if (main.has(InstallTag.SOURCEPACKAGE)) throw new XylemError(`${what}: is a source package; source packages are not installed into an rpmdb`, 'EUNSUPPORTED');
  const dribbles: HeaderValue[] = mergedSignatureTags(pkg.signature, main, what);
  if (!main.has(InstallTag.SOURCERPM)) {
    const dirs = main.stringBytes(InstallTag.DIRNAMES);
    if (dirs.length === 1 && dirs[0]!.length === 0) throw new XylemError(`${what}: looks like a source package (no SOURCERPM, one empty dirname)`, 'EUNSUPPORTED');
    dribbles.push(stringValue(InstallTag.SOURCERPM, '(none)'));
  }
  const prefixes = main.entry(InstallTag.PREFIXES);
  if (prefixes && !main.has(InstallTag.INSTPREFIXES)) {
    if (prefixes.type !== HeaderType.STRING_ARRAY) throw new CorruptionError(`${what}: PREFIXES has type ${prefixes.type}`);
    dribbles.push({ tag: InstallTag.INSTPREFIXES, type: HeaderType.STRING_ARRAY, count: prefixes.count, data: main.raw(InstallTag.PREFIXES)!.slice() });
  }
  const files = main.entry(InstallTag.BASENAMES)?.count ?? 0;
  if (opts.fileStates !== undefined) {
    if (!(opts.fileStates instanceof Uint8Array) || opts.fileStates.length !== files)
      throw new TypeError(`installedHeader: ${what}: fileStates must hold one state per file (${files})`);
  }
  if (files > 0) dribbles.push(charValue(InstallTag.FILESTATES, opts.fileStates ?? new Uint8Array(files)));
  dribbles.push(int32Value(InstallTag.INSTALLTID, [tid]), int32Value(InstallTag.INSTALLTIME, [opts.installTime]), int32Value(InstallTag.INSTALLCOLOR, [color]));
  for (const d of dribbles) if (main.has(d.tag)) throw new CorruptionError(`${what}: main header already holds install-time tag ${d.tag}`);
  return appendDribbles(main, dribbles);
}
