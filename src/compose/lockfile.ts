// rpm-ostree's JSON lockfiles (rust/src/lockfile.rs; `compose tree --ex-lockfile=FILE`,
// `--ex-lockfile-strict`, `--ex-write-lockfile-to=FILE`): `packages` maps a name to
// {evra | evr, digest?, metadata?}, `metadata` holds `generated` and `rpmmd_repos`
// {id: {generated}}. Several lockfiles merge, later ones overriding packages of the same name.
// Applying one filters the solver's pool as upstream filters libdnf's sack: relaxed, a package
// whose name is locked is usable only in its locked EVR(A) (and digest, when given); strict, only
// locked packages are usable at all. Packages of `lockfile-repos` are usable only when locked.
// Written lockfiles are serde_json's pretty output of the same structure (2-space indent, keys
// sorted), `generated` the current UTC day at midnight.

import { XylemError } from '../util/errors.ts';
import type { Resolution } from './compose.ts';

/** A lockfile larger than this is refused before it is parsed. */
export const MAX_LOCKFILE_BYTES = 64 << 20;

/** One locked package. `arch` null: any architecture (an `evr` entry); `digest` null: any. */
export interface LockedPackage {
  evr: string;
  arch: string | null;
  digest: string | null;
}

export interface Lockfile {
  packages: Map<string, LockedPackage>;
  strict: boolean;
}

const TOP = new Set(['packages', 'metadata']);
const PKG = new Set(['evra', 'evr', 'digest', 'metadata']);
const META = new Set(['generated', 'rpmmd_repos']);

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Parses one lockfile's text; `what` names it in errors. Unknown fields are refused, as upstream. */
export function parseLockfile(text: string, what: string): Map<string, LockedPackage> {
  if (typeof text !== 'string') throw new TypeError('parseLockfile: text must be a string');
  if (text.length > MAX_LOCKFILE_BYTES) throw new XylemError(`${what}: over ${MAX_LOCKFILE_BYTES} bytes`, 'E2BIG');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new XylemError(`${what}: ${(e as Error).message}`, 'EINVAL');
  }
  if (!isObj(doc)) throw new XylemError(`${what}: a lockfile is a JSON object`, 'EINVAL');
  for (const k of Object.keys(doc)) if (!TOP.has(k)) throw new XylemError(`${what}: unknown field \`${k}\``, 'EINVAL');
  if (doc.metadata !== undefined && doc.metadata !== null) {
    if (!isObj(doc.metadata)) throw new XylemError(`${what}: \`metadata\` must be an object`, 'EINVAL');
    for (const k of Object.keys(doc.metadata)) if (!META.has(k)) throw new XylemError(`${what}: unknown field \`metadata.${k}\``, 'EINVAL');
  }
  const out = new Map<string, LockedPackage>();
  if (doc.packages === undefined || doc.packages === null) return out;
  if (!isObj(doc.packages)) throw new XylemError(`${what}: \`packages\` must be an object`, 'EINVAL');
  for (const [name, v] of Object.entries(doc.packages)) {
    if (!isObj(v)) throw new XylemError(`${what}: package ${name}: expected an object`, 'EINVAL');
    for (const k of Object.keys(v)) if (!PKG.has(k)) throw new XylemError(`${what}: package ${name}: unknown field \`${k}\``, 'EINVAL');
    const digest = v.digest === undefined || v.digest === null ? null : v.digest;
    if (digest !== null && typeof digest !== 'string') throw new XylemError(`${what}: package ${name}: digest must be a string`, 'EINVAL');
    if (typeof v.evra === 'string' && v.evr === undefined) {
      const dot = v.evra.lastIndexOf('.');
      if (dot <= 0 || dot === v.evra.length - 1) throw new XylemError(`package ${name} has malformed evra: ${v.evra}`, 'EINVAL');
      out.set(name, { evr: v.evra.slice(0, dot), arch: v.evra.slice(dot + 1), digest });
    } else if (typeof v.evr === 'string' && v.evra === undefined) out.set(name, { evr: v.evr, arch: null, digest });
    else throw new XylemError(`${what}: package ${name}: exactly one of \`evra\` or \`evr\` is required`, 'EINVAL');
  }
  return out;
}

/** Merges lockfiles in order: a later file's entry replaces an earlier one of the same name. */
export function mergeLockfiles(files: ReadonlyArray<Map<string, LockedPackage>>, strict: boolean): Lockfile {
  const packages = new Map<string, LockedPackage>();
  for (const f of files) for (const [k, v] of f) packages.set(k, v);
  return { packages, strict };
}

/** libdnf's EVR text: `epoch:version-release`, the epoch only when non-zero. */
export function evrText(epoch: number | null, version: string, release: string): string {
  return `${epoch ? `${epoch}:` : ''}${version}-${release}`;
}

/** Whether a package is locked in (its name, EVR, arch and digest match an entry). */
export function isLocked(lock: Lockfile, name: string, evr: string, arch: string, digest: string): boolean {
  const l = lock.packages.get(name);
  if (!l) return false;
  return l.evr === evr && (l.arch === null || l.arch === arch) && (l.digest === null || l.digest === digest);
}

/**
 * Whether the pool may use a package: strict, only locked ones; relaxed, any package whose name is
 * not locked, and locked names only in their locked form. Packages of lockfile-repos only when locked.
 */
export function lockAllows(lock: Lockfile, name: string, evr: string, arch: string, digest: string, fromLockfileRepo: boolean): boolean {
  if (isLocked(lock, name, evr, arch, digest)) return true;
  if (lock.strict || fromLockfileRepo) return false;
  return !lock.packages.has(name);
}

/** `generated` as chrono prints a UTC DateTime: the day of `nowSeconds` at 00:00:00. */
function rfc3339Day(nowSeconds: number): string {
  const d = new Date(Math.floor(nowSeconds / 86400) * 86400 * 1000);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function rfc3339(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The lockfile of a resolution, as `--ex-write-lockfile-to` writes it. */
export function lockfileJson(resolution: Resolution, nowSeconds: number): string {
  const packages: Record<string, unknown> = {};
  for (const p of [...resolution.packages].sort((a, b) => (a.nevra.name < b.nevra.name ? -1 : a.nevra.name > b.nevra.name ? 1 : 0))) {
    const entry: Record<string, unknown> = { evra: `${evrText(p.nevra.epoch ?? null, p.nevra.version, p.nevra.release)}.${p.nevra.arch}`, digest: p.checksum };
    // Only the source package's name: its EVR repeats `evra`, its arch is `src`.
    const parts = (p.sourcerpm ?? '').split('-');
    if (parts.length >= 3) entry.metadata = { sourcerpm: parts.slice(0, -2).join('-') };
    packages[p.nevra.name] = entry;
  }
  const repos: Record<string, unknown> = {};
  for (const r of [...resolution.repos].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) repos[r.id] = { generated: rfc3339(r.timestamp) };
  return JSON.stringify({ packages, metadata: { generated: rfc3339Day(nowSeconds), rpmmd_repos: repos } }, null, 2);
}
