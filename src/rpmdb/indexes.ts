// The rpmdb's secondary index tables (rpm 4.18's dbiTags, in that order) and the rows one installed
// header contributes to each (rpmdb.c tag2index): key = each item of the tag, idx = its position
// (for file triggers: the trigger's script index), with rpm's special cases — install-only
// Requires (rpmlib(), scriptlet prerequisites) are not indexed, repeated trigger names are indexed
// once, a missing Group is "Unknown", rich dependencies add their leaf names (rich-leaves.ts), and
// numeric keys are raw host-order bytes (rpm-packages.md §4).

import { CorruptionError } from '../util/errors.ts';
import type { HeaderBlob } from './header-blob.ts';
import { HeaderType } from './header-blob.ts';
import { richLeafKeys } from './rich-leaves.ts';

/** One index table: its name, the tag it indexes, key column type and which indexes rpm creates. */
export interface IndexTable {
  name: string;
  tag: number;
  /** TEXT key (string tags) or BLOB key. */
  text: boolean;
  /** `<name>_key_idx` (string tags). */
  keyIndex: boolean;
  /** `<name>_hnum_idx` (array tags). */
  hnumIndex: boolean;
}

function t(name: string, tag: number, text: boolean, hnumIndex: boolean): IndexTable {
  return { name, tag, text, keyIndex: text, hnumIndex };
}

/** rpm 4.18's index tables, in the order rpm creates them. */
export const INDEX_TABLES: readonly IndexTable[] = [
  t('Name', 1000, true, false),
  t('Basenames', 1117, true, true),
  t('Group', 1016, true, false),
  t('Requirename', 1049, true, true),
  t('Providename', 1047, true, true),
  t('Conflictname', 1054, true, true),
  t('Obsoletename', 1090, true, true),
  t('Triggername', 1066, true, true),
  t('Dirnames', 1118, true, true),
  t('Installtid', 1128, false, false),
  t('Sigmd5', 261, false, false),
  t('Sha1header', 269, true, false),
  t('Filetriggername', 5069, true, true),
  t('Transfiletriggername', 5079, true, true),
  t('Recommendname', 5046, true, true),
  t('Suggestname', 5049, true, true),
  t('Supplementname', 5052, true, true),
  t('Enhancename', 5055, true, true),
];

const REQUIREFLAGS = 1048;
const FILETRIGGERINDEX = 5070;
const TRANSFILETRIGGERINDEX = 5080;
/** Tags whose rich dependencies get leaf keys (Obsoletes and Provides never hold rich deps). */
const RICH_TAGS = new Set([1049, 1054, 5049, 5052, 5046, 5055]);

// rpmds.h: a Requires only needed while installing (isTransientReq) is not indexed.
const INSTALL_ONLY = 512 | 1024 | (1 << 24) | (1 << 26) | 128 | 32;
const ERASE_ONLY = 2048 | 4096;
const META = 1 << 29;
function isTransientRequire(flags: number): boolean {
  return (flags & INSTALL_ONLY) !== 0 && (flags & ERASE_ONLY) === 0 && (flags & META) === 0;
}

/** One row: the key bytes and idx (hnum is the package's). */
export interface IndexRow {
  key: Uint8Array;
  idx: number;
}

const latin1Bytes = (s: string): Uint8Array => {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
};

const latin1 = new TextDecoder('latin1');

function numericKey(h: HeaderBlob, table: IndexTable, littleEndian: boolean): IndexRow[] {
  const e = h.entry(table.tag);
  if (!e) return [];
  const raw = h.raw(table.tag)!;
  if (e.type === HeaderType.BIN) return [{ key: raw.slice(), idx: 0 }];
  const size = e.type === HeaderType.INT32 ? 4 : e.type === HeaderType.INT16 ? 2 : e.type === HeaderType.INT64 ? 8 : e.type === HeaderType.CHAR || e.type === HeaderType.INT8 ? 1 : 0;
  if (size === 0) throw new CorruptionError(`${h.what}: tag ${table.tag} has type ${e.type}, not a number`);
  const rows: IndexRow[] = [];
  for (let i = 0; i < e.count; i++) {
    const key = raw.slice(i * size, (i + 1) * size);
    if (littleEndian) key.reverse();
    rows.push({ key, idx: i });
  }
  return rows;
}

/**
 * The rows `h` adds to `table`, in rpm's insertion order. `littleEndian` is the byte order of the
 * machine that will read the db (numeric keys are stored host-endian).
 */
export function indexRows(h: HeaderBlob, table: IndexTable, littleEndian: boolean): IndexRow[] {
  if (!table.text) return numericKey(h, table, littleEndian);
  const items = h.stringBytes(table.tag);
  if (items.length === 0) return table.tag === 1016 ? [{ key: latin1Bytes('Unknown'), idx: 0 }] : [];
  if (h.entry(table.tag)!.type === HeaderType.I18NSTRING) items.length = 1;
  let idxOf: (i: number) => number = (i) => i;
  let skip: (i: number) => boolean = () => false;
  if (table.tag === 1049) {
    const flags = h.uint32s(REQUIREFLAGS);
    skip = (i) => i < flags.length && isTransientRequire(flags[i]!);
  } else if (table.tag === 5069 || table.tag === 5079) {
    const index = h.uint32s(table.tag === 5069 ? FILETRIGGERINDEX : TRANSFILETRIGGERINDEX);
    if (index.length < items.length) throw new CorruptionError(`${h.what}: ${table.name}: ${items.length} names but ${index.length} trigger indexes`);
    idxOf = (i) => index[i]!;
  } else if (table.tag === 1066) {
    const seen = new Set<string>();
    const names = items.map((b) => latin1.decode(b));
    skip = (i) => {
      if (seen.has(names[i]!)) return true;
      seen.add(names[i]!);
      return false;
    };
  }
  const rows: IndexRow[] = [];
  const rich = RICH_TAGS.has(table.tag) && h.entry(table.tag)!.type === HeaderType.STRING_ARRAY;
  for (let i = 0; i < items.length; i++) {
    if (skip(i)) continue;
    const key = items[i]!;
    const idx = idxOf(i);
    rows.push({ key, idx });
    if (rich && key[0] === 0x28 /* ( */) for (const leaf of richLeafKeys(latin1.decode(key))) rows.push({ key: latin1Bytes(leaf), idx });
  }
  return rows;
}
