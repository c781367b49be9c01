// The layering request an origin file records, read and written with the keys rpm-ostree uses
// (rpmostree-origin.cxx / rust/src/origin.rs; reference note rpm-ostree.md §3.1):
//   [origin]    refspec=… (nothing layered) or baserefspec=… (a local layer is assembled)
//   [packages]  requested=a;b;   requested-local=<sha256>:<nevra>;
//   [overrides] remove=a;b;      replace-local=<sha256>:<nevra>;
// Lists are GKeyFile `;`-terminated lists, sorted and de-duplicated as rpm-ostree keeps them.

import type { KeyFile } from '../format/keyfile.ts';
import { XylemError } from '../util/errors.ts';

/** What the user asked to layer on the base (names/provides/paths, local packages, overrides). */
export interface LayerRequest {
  /** `[packages] requested`: names, provides or file paths resolved against rpm-md. */
  packages: string[];
  /** `[packages] requested-local`: `<sha256 of header>:<nevra>` of local .rpm files (in the pkgcache). */
  local: string[];
  /** `[overrides] remove`: base package names taken out. */
  removes: string[];
  /** `[overrides] replace-local`: `<sha256>:<nevra>` of local packages replacing base packages. */
  replaceLocal: string[];
}

const LOCAL_RE = /^[0-9a-f]{64}:[^\s;:/][^\s;/]*$/;
const MAX_ENTRIES = 10_000;
const MAX_ENTRY = 4096;

export function emptyRequest(): LayerRequest {
  return { packages: [], local: [], removes: [], replaceLocal: [] };
}

/** Whether the request needs a locally assembled commit (anything layered or overridden). */
export function isLayered(r: LayerRequest): boolean {
  return r.packages.length + r.local.length + r.removes.length + r.replaceLocal.length > 0;
}

function list(origin: KeyFile, group: string, key: string, what: string): string[] {
  let v: string[] | undefined;
  try {
    v = origin.getStringList(group, key);
  } catch (e) {
    throw new XylemError(`${what}: [${group}] ${key}: ${(e as Error).message}`, 'EORIGIN');
  }
  const out = (v ?? []).filter((x) => x !== '');
  if (out.length > MAX_ENTRIES) throw new XylemError(`${what}: [${group}] ${key} holds more than ${MAX_ENTRIES} entries`, 'EORIGIN');
  for (const x of out) if (x.length > MAX_ENTRY || /[\n\0]/.test(x)) throw new XylemError(`${what}: [${group}] ${key}: invalid entry`, 'EORIGIN');
  return [...new Set(out)].sort();
}

/** Splits a `<sha256>:<nevra>` entry; throws naming `what` when it is malformed. */
export function parseLocalEntry(entry: string, what = 'origin'): { sha256: string; nevra: string } {
  if (!LOCAL_RE.test(entry)) throw new XylemError(`${what}: invalid local package entry '${entry}' (expected <sha256>:<nevra>)`, 'EORIGIN');
  return { sha256: entry.slice(0, 64), nevra: entry.slice(65) };
}

/** Reads the request from an origin keyfile (`what` names it in errors). */
export function readLayerRequest(origin: KeyFile | null, what = 'origin'): LayerRequest {
  if (!origin) return emptyRequest();
  const r: LayerRequest = {
    packages: list(origin, 'packages', 'requested', what),
    local: list(origin, 'packages', 'requested-local', what),
    removes: list(origin, 'overrides', 'remove', what),
    replaceLocal: list(origin, 'overrides', 'replace-local', what),
  };
  for (const e of [...r.local, ...r.replaceLocal]) parseLocalEntry(e, what);
  return r;
}

function setList(origin: KeyFile, group: string, key: string, values: string[]): void {
  const v = [...new Set(values)].sort();
  if (v.length === 0) {
    origin.remove(group, key);
    if (origin.hasGroup(group) && origin.keys(group).length === 0) origin.removeGroup(group);
  } else origin.setStringList(group, key, v);
}

/**
 * Writes `r` into `origin` (in place): the four lists, and `refspec` ⇄ `baserefspec` depending on
 * whether the deployment is assembled locally (`localAssembly`: packages layered by default; also
 * a regenerated initramfs or tracked /etc files), as rpm-ostree does.
 */
export function writeLayerRequest(origin: KeyFile, r: LayerRequest, localAssembly: boolean = isLayered(r)): void {
  if (!origin || typeof origin.set !== 'function') throw new TypeError('writeLayerRequest: an origin KeyFile is required');
  setList(origin, 'packages', 'requested', r.packages);
  setList(origin, 'packages', 'requested-local', r.local);
  setList(origin, 'overrides', 'remove', r.removes);
  setList(origin, 'overrides', 'replace-local', r.replaceLocal);
  const spec = origin.get('origin', 'refspec') ?? origin.get('origin', 'baserefspec');
  if (spec === undefined) return;
  origin.remove('origin', 'refspec');
  origin.remove('origin', 'baserefspec');
  origin.set('origin', localAssembly ? 'baserefspec' : 'refspec', spec);
}
