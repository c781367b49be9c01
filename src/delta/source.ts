// Applying a delta fetched from elsewhere (pull over HTTP or from a local repo): where deltas
// are advertised (the summary's ostree.static-deltas or delta-indexes/), and running one whose
// superblock and parts come through a byte fetcher. Superblocks are checked against the
// advertised checksum before use; parts against their headers.

import type { Repo } from '../repo/repo.ts';
import { Transaction, type TransactionStats } from '../repo/transaction.ts';
import { decode, type GVVariant } from '../format/gvariant.ts';
import { ObjectType, isReg, objectTypeName, parseArchiveHeader } from '../format/objects.ts';
import { bytesEqual, fromHex, toHex } from '../util/bytes.ts';
import { CorruptionError, XylemError } from '../util/errors.ts';
import { executeDelta, loadSuperblock, type ApplyDeltaOptions, type LoadedSuperblock, type SuperblockVerifier } from './apply.ts';
import { deltaIndexRelPath, deltaNameString, deltaRelPath, parseDeltaName, type DeltaName } from './paths.ts';
import { MAX_SUPERBLOCK_SIZE, type Superblock } from './superblock.ts';
import { commitState } from '../repo/commit-state.ts';

/** Fetches a file of the remote repo by path relative to its root; null when it does not exist. */
export type DeltaFetch = (relPath: string, maxBytes: number) => Promise<Uint8Array | null>;

/** Largest delta index accepted. */
const MAX_INDEX_SIZE = 16 * 1024 * 1024;

/** Delta name → superblock checksum (hex), from an a{sv} whose ostree.static-deltas lists them (summary metadata or a delta index). */
export function advertisedDeltas(meta: Array<[string, GVVariant]>): Map<string, string> {
  const out = new Map<string, string>();
  const v = meta.find(([k]) => k === 'ostree.static-deltas')?.[1];
  if (!v || v.type !== 'a{sv}') return out;
  for (const [name, val] of v.value as Array<[string, GVVariant]>) {
    if (val.type !== 'ay' || !(val.value instanceof Uint8Array) || val.value.length !== 32) continue;
    try {
      parseDeltaName(name);
    } catch {
      continue;
    }
    out.set(name, toHex(val.value));
  }
  return out;
}

/** Parses delta-index bytes (a{sv}). */
export function parseDeltaIndex(data: Uint8Array): Map<string, string> {
  if (data.length > MAX_INDEX_SIZE) throw new CorruptionError(`Delta index of ${data.length} bytes is too large`);
  return advertisedDeltas(decode('a{sv}', data, { context: 'delta index' }) as Array<[string, GVVariant]>);
}

/** Fetches and parses the remote's delta index for `to` (null when it has none). */
export async function fetchDeltaIndex(fetch: DeltaFetch, to: string): Promise<Map<string, string> | null> {
  const data = await fetch(deltaIndexRelPath(to), MAX_INDEX_SIZE);
  return data === null ? null : parseDeltaIndex(data);
}

/** The advertised delta to reach `to` from `from` (a from-scratch one when from is null), if any. */
export function chooseDelta(advertised: Map<string, string>, from: string | null, to: string): { name: DeltaName; superblockChecksum: string } | null {
  const name: DeltaName = { from, to };
  const c = advertised.get(deltaNameString(name));
  return c === undefined ? null : { name, superblockChecksum: c };
}

/**
 * Fetches a delta superblock for a pull (the content URL's deltas/…/superblock); null when the
 * remote does not have it. When the summary or a delta index advertised a checksum for it, the
 * file must match (ostree: "Invalid checksum for static delta NAME").
 */
export async function fetchPullSuperblock(
  repo: Repo,
  fetch: DeltaFetch,
  name: DeltaName,
  expectedChecksum: string | undefined,
  verify?: SuperblockVerifier,
): Promise<LoadedSuperblock | null> {
  const data = await fetch(deltaRelPath(name.from, name.to, 'superblock'), MAX_SUPERBLOCK_SIZE);
  if (data === null) return null;
  if (expectedChecksum !== undefined && !bytesEqual(repo.sha256(data), fromHex(expectedChecksum)))
    throw new CorruptionError(`Invalid checksum for static delta ${deltaNameString(name)}`);
  const loaded = await loadSuperblock(data, verify);
  const sb = loaded.superblock;
  if (sb.to !== name.to || sb.from !== name.from)
    throw new CorruptionError(`Static delta superblock for ${deltaNameString(name)} describes ${deltaNameString({ from: sb.from, to: sb.to })}`);
  return loaded;
}

/** What a delta would transfer, counted as ostree's pull does (its delta progress counters). */
export interface DeltaPullSizes {
  /** Parts plus fallback objects, and those already satisfied locally. */
  parts: number;
  fetchedParts: number;
  /** Compressed bytes of parts and fallbacks, and of those satisfied locally. */
  size: number;
  fetchedSize: number;
  /** Uncompressed bytes of parts and fallbacks. */
  usize: number;
}

/**
 * Sizes a delta against the repo: a part whose objects are all present counts as fetched, a
 * fallback object already stored counts its bytes as fetched (but, as ostree, not its count).
 */
export async function deltaPullSizes(repo: Repo, sb: Superblock): Promise<DeltaPullSizes> {
  const out: DeltaPullSizes = { parts: 0, fetchedParts: 0, size: 0, fetchedSize: 0, usize: 0 };
  for (const f of sb.fallbacks) {
    out.parts++;
    out.size += f.size;
    out.usize += f.usize;
    if (await repo.hasObject(f.checksum, f.type)) out.fetchedSize += f.size;
  }
  for (const h of sb.parts) {
    out.parts++;
    out.size += h.size;
    out.usize += h.usize;
    let haveAll = true;
    for (const o of h.objects) {
      if (!(await repo.hasObject(o.checksum, o.type))) {
        haveAll = false;
        break;
      }
    }
    if (haveAll) {
      out.fetchedSize += h.size;
      out.fetchedParts++;
    }
  }
  return out;
}

/**
 * Applies a fetched superblock in one transaction: its parts (inline, or through `fetch` from
 * the content URL), then its fallback objects (loose archive objects of the remote). Returns
 * the transaction's counts (objects and content bytes written).
 */
export async function applyPulledDelta(repo: Repo, fetch: DeltaFetch, sb: Superblock, opts: ApplyDeltaOptions = {}): Promise<TransactionStats> {
  if (repo.mode === 'archive') throw new XylemError("Can't use static deltas in an archive repo");
  const tx = new Transaction(repo);
  try {
    await executeDelta(repo, tx, sb, async (i) => fetch(deltaRelPath(sb.from, sb.to, String(i)), sb.parts[i]!.size), opts);
    // fallback objects: plain loose objects of the (archive) remote
    for (const f of sb.fallbacks) {
      if (await tx.hasObject(f.checksum, f.type)) continue;
      if (f.type !== ObjectType.File) throw new CorruptionError(`Found metadata object as fallback: ${f.checksum}.${objectTypeName(f.type)}`);
      const rel = `objects/${f.checksum.slice(0, 2)}/${f.checksum.slice(2)}.filez`;
      const body = await fetch(rel, Math.max(f.size, 0));
      if (body === null) throw new XylemError(`Static delta fallback object ${f.checksum}.filez not found`);
      const { header, size, offset } = parseArchiveHeader(body, `${f.checksum}.filez`);
      if (size > f.usize) throw new CorruptionError(`Static delta fallback ${f.checksum}: ${size} bytes, the superblock declares ${f.usize}`);
      const content = isReg(header.mode) ? await repo.deflate.inflateRaw(body.subarray(offset), size) : new Uint8Array(0);
      await tx.writeContent(header, content, f.checksum);
    }
    return await tx.commit();
  } catch (e) {
    await tx.abort().catch(() => undefined);
    throw e;
  }
}

/**
 * Fetches and applies a delta through `fetch` in one transaction. When `superblockChecksum` is
 * given (from a summary or index), the superblock must match it.
 */
export async function applyDeltaFromSource(
  repo: Repo,
  fetch: DeltaFetch,
  name: DeltaName,
  opts: ApplyDeltaOptions & { superblockChecksum?: string } = {},
): Promise<void> {
  if (repo.mode === 'archive') throw new XylemError("Can't use static deltas in an archive repo");
  const loaded = await fetchPullSuperblock(repo, fetch, name, opts.superblockChecksum, opts.verifySignature);
  if (!loaded) throw new XylemError(`Static delta ${deltaNameString(name)} not found`);
  await applyPulledDelta(repo, fetch, loaded.superblock, opts);
}

/** Where a pull should start a delta to `to` (ostree's get_best_static_delta_start_for). */
export type DeltaStart =
  /** `to` is already complete locally. */
  | { result: 'unchanged' }
  | { result: 'no-match' }
  /** A delta from a complete local commit (the newest of the candidates). */
  | { result: 'from'; from: string }
  /** Only a from-scratch delta. */
  | { result: 'scratch' };

/** Picks the delta to reach `to` among the advertised delta names. */
export async function bestDeltaStart(repo: Repo, advertised: Iterable<string>, to: string): Promise<DeltaStart> {
  if ((await repo.hasObject(to, ObjectType.Commit)) && (await commitState(repo, to)) === 'complete') return { result: 'unchanged' };
  let scratch = false;
  const candidates: string[] = [];
  for (const n of advertised) {
    let name: DeltaName;
    try {
      name = parseDeltaName(n);
    } catch (e) {
      throw new CorruptionError(`Invalid delta name ${n}: ${(e as Error).message}`);
    }
    if (name.to !== to) continue;
    if (name.from === null) scratch = true;
    else candidates.push(name.from);
  }
  let best: string | null = null;
  let bestTs = 0n;
  for (const c of candidates) {
    if (!(await repo.hasObject(c, ObjectType.Commit))) continue;
    if ((await commitState(repo, c)) !== 'complete') continue;
    const ts = (await repo.loadCommit(c)).timestamp;
    if (best === null || ts > bestTs) {
      best = c;
      bestTs = ts;
    }
  }
  if (best !== null) return { result: 'from', from: best };
  return scratch ? { result: 'scratch' } : { result: 'no-match' };
}

/** What the pull engine passes to its delta hook (structurally src/pull's DeltaHook argument). */
export interface DeltaHookContext {
  repo: Repo;
  from: string | null;
  to: string;
  /** The remote's summary bytes, when it has one. */
  summary: Uint8Array | null;
}

/**
 * A pull delta hook over `fetch`: finds a delta from ctx.from (or from scratch when from is null)
 * to ctx.to in the summary's ostree.static-deltas, else in the remote's delta index, verifies its
 * superblock checksum, applies it, and returns true; returns false when none is advertised (the
 * caller then pulls objects, or fails with "Static deltas required, but none found" under
 * --require-static-deltas).
 */
export function createDeltaHook(fetch: DeltaFetch, opts: ApplyDeltaOptions = {}): (ctx: DeltaHookContext) => Promise<boolean> {
  return async (ctx) => {
    let advertised = new Map<string, string>();
    if (ctx.summary) {
      const [, meta] = decode('(a(s(taya{sv}))a{sv})', ctx.summary, { context: 'summary' }) as [unknown, Array<[string, GVVariant]>];
      advertised = advertisedDeltas(meta);
    }
    let found = chooseDelta(advertised, ctx.from, ctx.to);
    if (!found) {
      const idx = await fetchDeltaIndex(fetch, ctx.to);
      if (idx) found = chooseDelta(idx, ctx.from, ctx.to);
    }
    if (!found) return false;
    await applyDeltaFromSource(ctx.repo, fetch, found.name, { ...opts, superblockChecksum: found.superblockChecksum });
    return true;
  };
}

/** A DeltaFetch reading files of a local repository (pull-local, file:// remotes). */
export function localDeltaFetch(source: Repo): DeltaFetch {
  return async (relPath, maxBytes) => {
    if (relPath.split('/').some((c) => c === '..' || c === '')) throw new XylemError(`Invalid path ${relPath}`);
    const p = `${source.path}/${relPath}`;
    const st = await source.fs.stat(p);
    if (!st || st.kind !== 'file') return null;
    if (st.size > maxBytes) throw new CorruptionError(`${relPath} is ${st.size} bytes, over the limit of ${maxBytes}`);
    return source.fs.readFile(p);
  };
}
