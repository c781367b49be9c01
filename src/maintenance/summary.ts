// The repository summary file (`ostree summary -u / --view / --raw`): building it byte for byte
// as ostree_repo_regenerate_summary does (refs sorted by name, per-ref commit size in native
// little-endian order, BE timestamps, a{sv} entries in GLib hash-table order), writing it
// atomically, and rendering it as `summary --view` / `--raw` print it.

import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { ObjectType, SUMMARY_TYPE, isValidChecksum, decodeCommit, metadataLookup } from '../format/objects.ts';
import { encode, decode, print, type GVValue, type GVVariant } from '../format/gvariant.ts';
import { glibDictOrder } from '../format/glib-hash-order.ts';
import { bswap64, fromHex, fromModifiedBase64, toHex } from '../util/bytes.ts';
import { joinPath } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { listLocalRefs, listMirrorRefs, listRemoteRefs } from '../repo/refs.ts';
import { remoteOption } from '../remote/config.ts';
import { reindexDeltas } from '../delta/manage.ts';
import { withRepoLock } from '../repo/lock.ts';


/** Largest summary file read for --view (ostree maps the file; we cap it). */
const MAX_SUMMARY_SIZE = 128 * 1024 * 1024;

/** Year 9999 end: GDateTime refuses later times, and ostree then omits the timestamp. */
const MAX_GDATETIME = 253402300799n;

function strcmpOrder(a: string, b: string): number {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) if (ea[i] !== eb[i]) return ea[i]! - eb[i]!;
  return ea.length - eb.length;
}

/** ostree_validate_collection_id: a D-Bus interface name (2+ elements of [A-Za-z_][A-Za-z0-9_]*). */
function isValidCollectionId(id: string): boolean {
  return id.length <= 255 && /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(id);
}

/** One (ref, (size, csum, metadata)) entry, from the commit object. */
async function refEntry(repo: Repo, ref: string, checksum: string): Promise<GVValue> {
  const data = await repo.loadMetadataBytes(ObjectType.Commit, checksum);
  const commit = decodeCommit(data, `${checksum}.commit`);
  const meta: Array<[string, GVVariant]> = [];
  if (commit.timestamp >= 0n && commit.timestamp <= MAX_GDATETIME)
    meta.push(['ostree.commit.timestamp', { type: 't', value: bswap64(commit.timestamp) }]);
  const version = metadataLookup(commit.metadata, 'version');
  if (version && version.type === 's') meta.push(['ostree.commit.version', { type: 's', value: version.value }]);
  return [ref, [BigInt(data.length), fromHex(checksum), glibDictOrder(meta) as GVValue[]]];
}

export interface SummaryOptions {
  /** Extra metadata, in command-line order (later duplicates replace earlier ones). */
  additionalMetadata?: Array<[string, GVVariant]>;
  /** Seconds since the epoch for ostree.summary.last-modified (default: the host clock). */
  now?: bigint;
}

/** Static delta names ("FROM-TO" or "TO", hex) with the sha256 of their superblock. */
async function staticDeltaDigests(repo: Repo): Promise<Array<[string, GVVariant]>> {
  const base = joinPath(repo.path, 'deltas');
  const out: Array<[string, GVVariant]> = [];
  const prefixes = await repo.fs.readdir(base).catch(() => []);
  const fromB64 = (s: string): string | null => {
    try {
      const bytes = fromModifiedBase64(s);
      return bytes.length === 32 ? toHex(bytes) : null;
    } catch {
      return null;
    }
  };
  for (const p of prefixes) {
    if (p.kind !== 'dir') continue;
    for (const e of await repo.fs.readdir(joinPath(base, p.name)).catch(() => [])) {
      if (e.kind !== 'dir') continue;
      const full = p.name + e.name;
      const dash = full.indexOf('-');
      const from = dash < 0 ? null : fromB64(full.slice(0, dash));
      const to = fromB64(dash < 0 ? full : full.slice(dash + 1));
      if (!to || (dash >= 0 && !from)) continue;
      const sb = joinPath(base, p.name, e.name, 'superblock');
      let data: Uint8Array;
      try {
        data = await repo.fs.readFile(sb);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        throw err;
      }
      out.push([from ? `${from}-${to}` : to, { type: 'ay', value: repo.sha256(data) }]);
    }
  }
  return out;
}

/** Builds the summary bytes for the repository as it is now. */
export async function buildSummary(repo: Repo, opts: SummaryOptions = {}): Promise<Uint8Array> {
  const mainCollection = repo.config.get('core', 'collection-id') ?? null;
  const refs: GVValue[] = [];
  const collectionMap = new Map<string, Map<string, string>>();
  const local = await listLocalRefs(repo);
  if (mainCollection === null) {
    const sorted = [...local].sort((a, b) => strcmpOrder(a.name, b.name));
    for (const r of sorted) refs.push(await refEntry(repo, r.name, r.checksum));
  } else {
    const m = new Map<string, string>();
    for (const r of local) m.set(r.name, r.checksum);
    collectionMap.set(mainCollection, m);
  }
  for (const r of await listMirrorRefs(repo)) {
    if (!r.collection) continue;
    let m = collectionMap.get(r.collection);
    if (!m) collectionMap.set(r.collection, (m = new Map()));
    m.set(r.ref, r.checksum);
  }
  // Remote refs count under their remote's collection-id (remotes without a valid one are skipped).
  const remoteCids = new Map<string, string | null>();
  for (const r of await listRemoteRefs(repo)) {
    if (!r.remote) continue;
    if (!remoteCids.has(r.remote)) {
      const cid = await remoteOption(repo, r.remote, 'collection-id', null).catch(() => null);
      remoteCids.set(r.remote, cid !== null && isValidCollectionId(cid) ? cid : null);
    }
    const cid = remoteCids.get(r.remote);
    if (!cid) continue;
    let m = collectionMap.get(cid);
    if (!m) collectionMap.set(cid, (m = new Map()));
    m.set(r.ref, r.checksum);
  }

  const meta: Array<[string, GVVariant]> = [...(opts.additionalMetadata ?? [])];
  if (repo.config.getBoolean('core', 'no-deltas-in-summary') !== true) {
    const deltas = await staticDeltaDigests(repo);
    if (deltas.length > 0) meta.push(['ostree.static-deltas', { type: 'a{sv}', value: glibDictOrder(deltas) as GVValue[] }]);
  }
  const now = opts.now ?? BigInt(Math.floor((repo.host.now?.() ?? Date.now()) / 1000));
  meta.push(['ostree.summary.last-modified', { type: 't', value: bswap64(now) }]);
  meta.push(['ostree.summary.mode', { type: 's', value: repo.config.get('core', 'mode') ?? 'bare' }]);
  meta.push(['ostree.summary.tombstone-commits', { type: 'b', value: repo.config.getBoolean('core', 'tombstone-commits') === true }]);
  meta.push(['ostree.summary.indexed-deltas', { type: 'b', value: true }]);

  const collections: GVValue[] = [];
  let mapSize = 0;
  for (const cid of [...collectionMap.keys()].sort(strcmpOrder)) {
    const m = collectionMap.get(cid)!;
    const entries: GVValue[] = [];
    for (const ref of [...m.keys()].sort(strcmpOrder)) {
      entries.push(await refEntry(repo, ref, m.get(ref)!));
      mapSize++;
    }
    if (cid === mainCollection) refs.push(...entries);
    else collections.push([cid, entries]);
  }
  if (mainCollection !== null) meta.push(['ostree.summary.collection-id', { type: 's', value: mainCollection }]);
  if (mapSize > 0) meta.push(['ostree.summary.collection-map', { type: 'a{sa(s(taya{sv}))}', value: collections }]);

  return encode(SUMMARY_TYPE, [refs, glibDictOrder(meta) as GVValue[]]);
}

/** Regenerates `summary` (atomically), after the delta indexes, and removes a now-stale `summary.sig`. */
export async function regenerateSummary(repo: Repo, opts: SummaryOptions = {}): Promise<Uint8Array> {
  return withRepoLock(repo, 'shared', () => regenerateSummaryLocked(repo, opts));
}

async function regenerateSummaryLocked(repo: Repo, opts: SummaryOptions): Promise<Uint8Array> {
  const bytes = await buildSummary(repo, opts);
  // As ostree_repo_regenerate_summary: the per-commit delta indexes are rewritten first (the
  // summary advertises ostree.summary.indexed-deltas=true, so pulls look there).
  await reindexDeltas(repo);
  await writeFileAtomic(repo.fs, joinPath(repo.path, 'summary'), bytes, { fsync: repo.fsyncEnabled });
  try {
    await repo.fs.unlink(joinPath(repo.path, 'summary.sig'));
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  return bytes;
}

/**
 * Hook for commands that move refs: regenerates the summary when core.auto-update-summary is
 * set (refs changed) or, for commits, core.commit-update-summary. Returns whether it did.
 */
export async function maybeUpdateSummary(repo: Repo, reason: 'refs' | 'commit'): Promise<boolean> {
  const auto = repo.config.getBoolean('core', 'auto-update-summary') === true;
  const onCommit = reason === 'commit' && repo.config.getBoolean('core', 'commit-update-summary') === true;
  if (!auto && !onCommit) return false;
  await regenerateSummary(repo);
  return true;
}

/** Reads the summary file; throws ostree's error when it is missing. */
export async function readSummary(repo: Repo): Promise<Uint8Array> {
  const p = joinPath(repo.path, 'summary');
  const st = await repo.fs.lstat(p);
  if (!st) throw new XylemError(`Couldn't open file 'summary': No such file or directory`);
  if (st.size > MAX_SUMMARY_SIZE) throw new XylemError(`summary is ${st.size} bytes, over the limit`);
  return repo.fs.readFile(p);
}

/** g_date_time_format(local, "%FT%T%:::z") of a UTC timestamp, or "invalid". */
export function isoLocal(secs: bigint): string {
  if (secs < -62135596800n || secs > MAX_GDATETIME) return 'invalid';
  const d = new Date(Number(secs) * 1000);
  const offMin = -d.getTimezoneOffset();
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const date = `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const sign = offMin < 0 ? '-' : '+';
  const a = Math.abs(offMin);
  const tz = `${sign}${pad(Math.floor(a / 60))}${a % 60 ? `:${pad(a % 60)}` : ''}`;
  return date + tz;
}

function sizeText(bytes: bigint): string {
  const n = Number(bytes);
  if (n < 1000) return n === 1 ? '1 byte' : `${n} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)}\u00a0${units[i]}`;
}

function beTimestamp(v: GVVariant): bigint | null {
  return v.type === 't' ? bswap64(v.value as bigint) : null;
}

const VALID_MODES = new Set(['bare', 'bare-user', 'bare-user-only', 'archive-z2', 'archive', 'bare-split-xattrs']);

/** One block of refs as ot-dump prints them ("* (COLLECTION, REF)" when a collection is known). */
function formatSummaryRefs(collectionId: string | null, refs: GVValue[]): string {
  let out = '';
  for (const r of refs) {
    const [name, [size, csum, md]] = r as [string, [bigint, Uint8Array, Array<[string, GVVariant]>]];
    out += collectionId === null ? `* ${name}\n` : `* (${collectionId}, ${name})\n`;
    out += `    Latest Commit (${sizeText(size)}):\n`;
    out += csum.length === 32 ? `      ${toHex(csum)}\n` : `      Invalid checksum of length ${csum.length} expected 32\n`;
    for (const [k, v] of md) {
      if (k === 'ostree.commit.timestamp') {
        const t = beTimestamp(v);
        out += `    Timestamp (${k}): ${t === null ? 'invalid' : isoLocal(t)}\n`;
      } else if (k === 'ostree.commit.version' && v.type === 's') out += `    Version (${k}): ${v.value as string}\n`;
      else out += `    ${k}: ${print(v.type, v.value)}\n`;
    }
    out += '\n';
  }
  return out;
}

/**
 * `summary --view` / `remote summary`: the refs with their commit metadata (the main collection's,
 * then those of ostree.summary.collection-map), then the summary metadata, as ot_dump_summary_bytes.
 */
export function formatSummaryView(data: Uint8Array): string {
  const [refs, meta] = decode(SUMMARY_TYPE, data, { context: 'summary' }) as [GVValue[], Array<[string, GVVariant]>];
  const mainCid = meta.find(([k, v]) => k === 'ostree.summary.collection-id' && v.type === 's')?.[1].value as string | undefined;
  let out = formatSummaryRefs(mainCid ?? null, refs);
  const map = meta.find(([k, v]) => k === 'ostree.summary.collection-map' && v.type === 'a{sa(s(taya{sv}))}')?.[1];
  if (map) for (const [cid, crefs] of map.value as Array<[string, GVValue[]]>) out += formatSummaryRefs(cid, crefs);
  const pretty: Record<string, string> = {
    'ostree.static-deltas': 'Static Deltas',
    'ostree.summary.last-modified': 'Last-Modified',
    'ostree.summary.expires': 'Expires',
    'ostree.summary.collection-id': 'Collection ID',
    'ostree.summary.collection-map': 'Collection Map',
    'ostree.summary.mode': 'Repository Mode',
    'ostree.summary.tombstone-commits': 'Has Tombstone Commits',
  };
  for (const [k, v] of meta) {
    let text: string;
    if (k === 'ostree.summary.last-modified' || k === 'ostree.summary.expires') {
      const t = beTimestamp(v);
      text = t === null ? 'invalid' : isoLocal(t);
    } else if (k === 'ostree.summary.collection-id' && v.type === 's') text = v.value as string;
    else if (k === 'ostree.summary.mode' && v.type === 's') {
      const mode = v.value as string;
      text = VALID_MODES.has(mode) ? mode : `Invalid (\u2018${mode}\u2019)`;
    } else if (k === 'ostree.summary.collection-map') text = '(printed above)';
    else if (k === 'ostree.summary.tombstone-commits' && v.type === 'b') text = v.value ? 'Yes' : 'No';
    else text = print(v.type, v.value);
    out += pretty[k] ? `${pretty[k]} (${k}): ${text}\n` : `${k}: ${text}\n`;
  }
  return out;
}

/** `summary --raw`: the whole variant byteswapped (as on a little-endian host) and printed annotated. */
export function formatSummaryRaw(data: Uint8Array): string {
  const v = decode(SUMMARY_TYPE, data, { bigEndian: true, context: 'summary' });
  return `${print(SUMMARY_TYPE, v, { annotate: true })}\n`;
}

/** Checks a summary's refs are sorted and its checksums well-formed (for tests and pulls). */
export function summaryRefs(data: Uint8Array): Array<{ ref: string; checksum: string; size: bigint }> {
  const [refs] = decode(SUMMARY_TYPE, data, { context: 'summary' }) as [GVValue[], GVValue];
  return refs.map((r) => {
    const [ref, [size, csum]] = r as [string, [bigint, Uint8Array]];
    const checksum = toHex(csum);
    if (!isValidChecksum(checksum)) throw new XylemError(`summary: invalid checksum for ${ref}`);
    return { ref, checksum, size };
  });
}
