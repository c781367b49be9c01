// Where static deltas live in a repository and how they are named: deltas/<mb64(from)[0:2]>/
// <mb64(from)[2:]>-<mb64(to)>/ (from-scratch: deltas/<mb64(to)[0:2]>/<mb64(to)[2:]>/), with
// "modified base64" = base64 without padding and '/' replaced by '_'; user-facing names are hex
// "FROM-TO" or "TO"; delta indexes live at delta-indexes/<mb64(to)[0:2]>/<mb64(to)[2:]>.index.

import { fromHex, fromModifiedBase64, toHex, toModifiedBase64 } from '../util/bytes.ts';
import { isValidChecksum } from '../format/objects.ts';
import { XylemError } from '../util/errors.ts';

/** A delta's endpoints; from = null for a from-scratch ("empty") delta. */
export interface DeltaName {
  from: string | null;
  to: string;
}

function mb64(checksum: string): string {
  return toModifiedBase64(fromHex(checksum));
}

function checkCsum(c: string, what: string): void {
  if (typeof c !== 'string' || !isValidChecksum(c)) throw new XylemError(`Invalid ${what} checksum '${String(c)}'`);
}

/** The delta's folder relative to the repo root, e.g. `deltas/jw/sXdW…-4j2l…`. */
export function deltaRelDir(from: string | null, to: string): string {
  checkCsum(to, 'delta target');
  const t = mb64(to);
  if (from === null) return `deltas/${t.slice(0, 2)}/${t.slice(2)}`;
  checkCsum(from, 'delta source');
  const f = mb64(from);
  return `deltas/${f.slice(0, 2)}/${f.slice(2)}-${t}`;
}

/** Path (relative to the repo root) of a file inside the delta's folder: "superblock", "0", "1"… */
export function deltaRelPath(from: string | null, to: string, target: string): string {
  return `${deltaRelDir(from, to)}/${target}`;
}

/** The user-facing name: hex "FROM-TO", or "TO" for a from-scratch delta. */
export function deltaNameString(name: DeltaName): string {
  return name.from === null ? name.to : `${name.from}-${name.to}`;
}

/** Parses "FROM-TO" or "TO" (hex); throws "Invalid rev …" like ostree for anything else. */
export function parseDeltaName(s: string): DeltaName {
  if (typeof s !== 'string') throw new TypeError('parseDeltaName: expected a string');
  const dash = s.indexOf('-');
  const from = dash < 0 ? null : s.slice(0, dash);
  const to = dash < 0 ? s : s.slice(dash + 1);
  if (from !== null && !isValidChecksum(from)) throw new XylemError(`Invalid rev ${from}`);
  if (!isValidChecksum(to)) throw new XylemError(`Invalid rev ${to}`);
  return { from, to };
}

/**
 * Inverse of deltaRelDir for the two path components under deltas/ (prefix "jw", rest
 * "sXdW…-4j2l…" or "…"); null when they do not name a delta.
 */
export function deltaNameFromDirs(prefix: string, rest: string): DeltaName | null {
  const decode = (s: string): string | null => {
    if (!/^[A-Za-z0-9+_]{43}$/.test(s)) return null;
    const b = fromModifiedBase64(s);
    return b.length === 32 ? toHex(b) : null;
  };
  const dash = rest.indexOf('-');
  if (dash < 0) {
    const to = decode(prefix + rest);
    return to === null ? null : { from: null, to };
  }
  const from = decode(prefix + rest.slice(0, dash));
  const to = decode(rest.slice(dash + 1));
  return from === null || to === null ? null : { from, to };
}

/** delta-indexes/<mb64(to)[0:2]>/<mb64(to)[2:]>.index relative to the repo root. */
export function deltaIndexRelPath(to: string): string {
  checkCsum(to, 'delta target');
  const t = mb64(to);
  return `delta-indexes/${t.slice(0, 2)}/${t.slice(2)}.index`;
}

/** The superblock metadata key of an inline part or of the target's detached metadata ("commitmeta"). */
export function superblockKey(from: string | null, to: string, target: string): string {
  return deltaRelPath(from, to, target);
}
