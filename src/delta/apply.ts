// Applying a static delta to a repository: load (and optionally verify) the superblock, check
// that the source commit is present and that the embedded commit is the named target, then run
// each part whose objects are not all present, and finally write the commit and its detached
// metadata. Everything happens in one Transaction: on any error nothing is committed.
// Parts come from a loader, so the same code serves `static-delta apply-offline` (files) and
// pull (HTTP); the next needed part is loaded while the current one runs. Like ostree, deltas with fallback objects cannot be applied offline.

import type { Repo } from '../repo/repo.ts';
import { Transaction } from '../repo/transaction.ts';
import { ObjectType } from '../format/objects.ts';
import type { GVVariant } from '../format/gvariant.ts';
import { encode, type GVValue } from '../format/gvariant.ts';
import { bytesEqual, toHex } from '../util/bytes.ts';
import { CorruptionError, XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { executePart, type BspatchFn } from './execute.ts';
import { decompressPart, parsePartPayload, payloadCap } from './part.ts';
import { superblockKey } from './paths.ts';
import { MAX_SUPERBLOCK_SIZE, isSignedSuperblock, parseSignedSuperblock, parseSuperblock, type Superblock } from './superblock.ts';
import { wasmXzDecoder, type XzDecoder } from './xz.ts';
import { withRepoLock } from '../repo/lock.ts';

/** Default cap on one part's decompressed payload. */
export const DEFAULT_MAX_PART_SIZE = 1024 * 1024 * 1024;

/** Checks the signatures of a signed superblock; throw to refuse. */
export type SuperblockVerifier = (superblockBytes: Uint8Array, signatures: Array<[string, GVVariant]>) => Promise<void>;

export interface ApplyDeltaOptions {
  xz?: XzDecoder;
  /** bspatch implementation (default: the WASM core's). */
  bspatch?: BspatchFn;
  /** Skip the SHA-256 check of part files (objects are still verified). */
  skipPartValidation?: boolean;
  maxPartSize?: number;
  maxObjectSize?: number;
  /** When given, the superblock must be signed and pass this check. */
  verifySignature?: SuperblockVerifier;
  /** Called after each part. */
  onPart?: (index: number, total: number, skipped: boolean) => void;
}

export interface LoadedSuperblock {
  superblock: Superblock;
  /** The plain superblock bytes (inside the wrapper when signed). */
  bytes: Uint8Array;
  signed: boolean;
  signatures: Array<[string, GVVariant]> | null;
}

/** Parses superblock file bytes, signed or not; verifies signatures when a verifier is given. */
export async function loadSuperblock(data: Uint8Array, verify?: SuperblockVerifier): Promise<LoadedSuperblock> {
  if (!(data instanceof Uint8Array)) throw new TypeError('loadSuperblock: expected a Uint8Array');
  if (isSignedSuperblock(data)) {
    const s = parseSignedSuperblock(data);
    if (verify) await verify(s.superblockBytes, s.signatures);
    return { superblock: parseSuperblock(s.superblockBytes), bytes: s.superblockBytes, signed: true, signatures: s.signatures };
  }
  if (verify) throw new XylemError('Static delta superblock is not signed');
  return { superblock: parseSuperblock(data), bytes: data, signed: false, signatures: null };
}

let wasmBspatch: BspatchFn | undefined;

async function defaultBspatch(): Promise<BspatchFn> {
  if (!wasmBspatch) {
    const { loadCore } = await import('../../core-wasm/index.ts');
    const core = await loadCore();
    wasmBspatch = (old, patch, size) => core.bspatch(old, patch, size);
  }
  return wasmBspatch;
}

/** Where a part comes from: its file bytes (null = not available), given its index. */
export type PartLoader = (index: number) => Promise<Uint8Array | null>;

/**
 * Runs a delta into an open transaction (the caller commits it). Parts are read from the
 * superblock (inline) or through `loadPart`.
 */
export async function executeDelta(repo: Repo, tx: Transaction, sb: Superblock, loadPart: PartLoader, opts: ApplyDeltaOptions = {}): Promise<void> {
  const xz = opts.xz ?? wasmXzDecoder;
  const bspatch = opts.bspatch ?? (await defaultBspatch());
  const maxPart = opts.maxPartSize ?? DEFAULT_MAX_PART_SIZE;
  if (sb.from !== null && !(await repo.hasObject(sb.from, ObjectType.Commit)))
    throw new XylemError(`Commit ${sb.from}, which is the delta source, is not in repository`);
  const commitCsum = toHex(repo.sha256(sb.commitBytes));
  if (commitCsum !== sb.to)
    throw new CorruptionError(`Static delta superblock names commit ${sb.to} but carries commit ${commitCsum}`);

  // which parts to run (a part whose objects are all present is skipped), and where each comes from
  const inlineParts = new Map<number, GVVariant>();
  const needed: number[] = [];
  for (let i = 0; i < sb.parts.length; i++) {
    let haveAll = true;
    for (const o of sb.parts[i]!.objects) {
      if (!(await tx.hasObject(o.checksum, o.type))) {
        haveAll = false;
        break;
      }
    }
    if (!haveAll) {
      needed.push(i);
      const inline = sb.metadata.find(([k]) => k === superblockKey(sb.from, sb.to, String(i)))?.[1];
      if (inline) inlineParts.set(i, inline);
    }
  }
  // the next part is loaded (fetched over HTTP, read from disk) while this one runs
  const load = (i: number): Promise<Uint8Array | null> => {
    const h = sb.parts[i]!;
    if (inlineParts.has(i)) return Promise.resolve(null);
    const p =
      h.size > maxPart
        ? Promise.reject(new CorruptionError(`Static delta part ${i} declares ${h.size} bytes, over the limit of ${maxPart}`))
        : loadPart(i);
    p.catch(() => undefined); // awaited (and its error reported) when the part's turn comes
    return p;
  };
  let next: Promise<Uint8Array | null> | null = needed.length > 0 ? load(needed[0]!) : null;
  let n = 0;
  for (let i = 0; i < sb.parts.length; i++) {
    const h = sb.parts[i]!;
    if (needed[n] !== i) {
      opts.onPart?.(i, sb.parts.length, true);
      continue;
    }
    const pending = next!;
    n++;
    next = n < needed.length ? load(needed[n]!) : null;
    // an earlier part may have brought all of this one's objects
    let haveAll = true;
    for (const o of h.objects) {
      if (!(await tx.hasObject(o.checksum, o.type))) {
        haveAll = false;
        break;
      }
    }
    if (haveAll) {
      opts.onPart?.(i, sb.parts.length, true);
      continue;
    }
    const inline = inlineParts.get(i);
    let data: Uint8Array;
    if (inline) {
      if (inline.type !== '(yay)') throw new CorruptionError(`Static delta inline part ${i} has type ${inline.type}`);
      const [kind, body] = inline.value as [number, Uint8Array];
      data = new Uint8Array(body.length + 1);
      data[0] = kind;
      data.set(body, 1);
    } else {
      const loaded = await pending;
      if (!loaded) throw new XylemError(`Static delta part ${i} is missing`);
      if (loaded.length !== h.size)
        throw new CorruptionError(`Static delta part ${i} has ${loaded.length} bytes, the superblock declares ${h.size}`);
      if (!opts.skipPartValidation && !bytesEqual(repo.sha256(loaded), h.checksum))
        throw new CorruptionError(`Static delta part ${i}: checksum mismatch (expected ${toHex(h.checksum)}, actual ${toHex(repo.sha256(loaded))})`);
      data = loaded;
    }
    const payload = parsePartPayload(await decompressPart(data, payloadCap(h.usizeExact ?? h.usize, maxPart), xz));
    await executePart(repo, tx, h.objects, payload, { bspatch, ...(opts.maxObjectSize !== undefined ? { maxObjectSize: opts.maxObjectSize } : {}) });
    opts.onPart?.(i, sb.parts.length, false);
  }

  await tx.writeMetadata(ObjectType.Commit, sb.commitBytes, sb.to);
  const detached = sb.metadata.find(([k]) => k === superblockKey(sb.from, sb.to, 'commitmeta'))?.[1];
  if (detached) {
    if (detached.type !== 'a{sv}') throw new CorruptionError(`Static delta: detached metadata has type ${detached.type}`);
    await tx.writeCommitMeta(sb.to, encode('a{sv}', detached.value as GVValue));
  }
}

/** Reads a delta from a folder (superblock + parts) or a superblock file (parts beside it). */
async function readDeltaLocation(repo: Repo, path: string): Promise<{ superblockData: Uint8Array; dir: string }> {
  const fs = repo.fs;
  const st = await fs.stat(path);
  if (!st) throw new XylemError(`${path}: No such file or directory`);
  const isDir = st.kind === 'dir';
  const file = isDir ? joinPath(path, 'superblock') : path;
  const fst = isDir ? await fs.stat(file) : st;
  if (!fst) throw new XylemError(`${file}: No such file or directory`);
  if (fst.size > MAX_SUPERBLOCK_SIZE) throw new CorruptionError(`Static delta superblock of ${fst.size} bytes is too large`);
  const slash = path.lastIndexOf('/');
  const dir = isDir ? path : slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
  return { superblockData: await fs.readFile(file), dir };
}

export interface ApplyResult {
  from: string | null;
  to: string;
  signed: boolean;
}

/** `ostree static-delta apply-offline PATH`: applies a delta from the filesystem, in one transaction. */
export async function applyDeltaOffline(repo: Repo, path: string, opts: ApplyDeltaOptions = {}): Promise<ApplyResult> {
  return withRepoLock(repo, 'shared', () => applyDeltaOfflineLocked(repo, path, opts));
}

async function applyDeltaOfflineLocked(repo: Repo, path: string, opts: ApplyDeltaOptions): Promise<ApplyResult> {
  if (typeof path !== 'string' || path === '') throw new XylemError('apply-offline: a delta path is required');
  const { superblockData, dir } = await readDeltaLocation(repo, path);
  const loaded = await loadSuperblock(superblockData, opts.verifySignature);
  const sb = loaded.superblock;
  if (sb.fallbacks.length > 0) throw new XylemError('Cannot execute delta offline: contains nonempty http fallback entries');
  const tx = new Transaction(repo);
  try {
    await executeDelta(
      repo,
      tx,
      sb,
      async (i) => {
        const p = joinPath(dir, String(i));
        const st = await repo.fs.stat(p);
        if (!st) return null;
        if (st.size !== sb.parts[i]!.size)
          throw new CorruptionError(`Static delta part ${i} has ${st.size} bytes, the superblock declares ${sb.parts[i]!.size}`);
        return repo.fs.readFile(p);
      },
      opts,
    );
    await tx.commit();
  } catch (e) {
    await tx.abort().catch(() => undefined);
    throw e;
  }
  return { from: sb.from, to: sb.to, signed: loaded.signed };
}
