// How each layering verb changes the origin's request, with rpm-ostree's refusals and wording
// (rpmostree-origin.cxx add/remove_packages, rust/src/…/override): installing what is already
// requested (unless --idempotent) or what the base already provides (unless --allow-inactive),
// uninstalling what is not requested, removing what is not in the base or already removed,
// resetting an override that does not exist. Pure: reads the request, answers the next one.

import { formatNevra } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';
import type { BasePackage } from './base.ts';
import type { LayerRequest } from './origin.ts';
import type { InitramfsChange } from './initramfs-origin.ts';

/** What one command asks for. */
export interface LayerChange {
  /** `install NAME|PROVIDE|PATH…`. */
  install?: string[];
  /** `install ./x.rpm` (paths; imported into the cache first). */
  installLocal?: string[];
  /** `uninstall X…`: a requested spec, or a local package's name or NEVRA. */
  uninstall?: string[];
  /** `override remove NAME…`. */
  removes?: string[];
  /** `override replace ./x.rpm…`. */
  replaceLocal?: string[];
  /** `override reset NAME…` (a removed package's name, or a replacement's name/NEVRA). */
  resetOverrides?: string[];
  /** `override reset --all`, `reset --overrides`, `reset`. */
  resetAllOverrides?: boolean;
  /** `reset --overlays`, `reset`; also `uninstall --all`. */
  resetOverlays?: boolean;
  /** `reset` (and `reset --initramfs`): drop the initramfs regeneration keys too. */
  resetInitramfs?: boolean;
  idempotent?: boolean;
  allowInactive?: boolean;
  /** `initramfs --enable/--disable`, `initramfs-etc --track/--untrack/--untrack-all`. */
  initramfs?: InitramfsChange;
  /** `initramfs-etc --force-sync`: deploy again even when the request did not change. */
  forceSync?: boolean;
}

const MAX_ARGS = 10_000;

function localName(entry: string): { nevra: string; name: string } {
  const nevra = entry.slice(65);
  const m = /^(.+)-(?:\d+:)?[^-:]+-[^-]+\.[^.]+$/.exec(nevra);
  return { nevra, name: m ? m[1]! : nevra };
}

function providedByBase(base: readonly BasePackage[], spec: string): BasePackage | null {
  for (const p of base) {
    if (p.nevra.name === spec || formatNevra(p.nevra) === spec) return p;
    if (spec.startsWith('/') ? p.files.some((f) => f.path === spec) : p.deps.provides.some((d) => d.name === spec)) return p;
  }
  return null;
}

/** The request after `change`; `localEntries` maps each local path of the change to its `<sha256>:<nevra>`. */
export function applyChange(cur: LayerRequest, change: LayerChange, base: readonly BasePackage[], localEntries: ReadonlyMap<string, string>): LayerRequest {
  if (!change || typeof change !== 'object') throw new TypeError('applyChange: a change is required');
  const next: LayerRequest = { packages: [...cur.packages], local: [...cur.local], removes: [...cur.removes], replaceLocal: [...cur.replaceLocal] };
  const all = [change.install, change.installLocal, change.uninstall, change.removes, change.replaceLocal, change.resetOverrides].reduce((n, l) => n + (l?.length ?? 0), 0);
  if (all > MAX_ARGS) throw new XylemError(`Too many packages in one request (${all} > ${MAX_ARGS})`, 'E2BIG');
  if (change.resetOverlays) {
    next.packages = [];
    next.local = [];
  }
  if (change.resetAllOverrides) {
    next.removes = [];
    next.replaceLocal = [];
  }
  for (const name of change.resetOverrides ?? []) {
    const r = next.removes.indexOf(name);
    const l = next.replaceLocal.findIndex((e) => localName(e).name === name || localName(e).nevra === name);
    if (r >= 0) next.removes.splice(r, 1);
    else if (l >= 0) next.replaceLocal.splice(l, 1);
    else throw new XylemError(`No overrides for package '${name}'`, 'ENOOVERRIDE');
  }
  for (const spec of change.uninstall ?? []) {
    const i = next.packages.indexOf(spec);
    const l = next.local.findIndex((e) => localName(e).name === spec || localName(e).nevra === spec);
    if (i >= 0) next.packages.splice(i, 1);
    else if (l >= 0) next.local.splice(l, 1);
    else if (!change.idempotent) throw new XylemError(`Package/capability '${spec}' is not currently requested`, 'ENOTREQUESTED');
  }
  for (const spec of change.install ?? []) {
    if (spec === '' || /[\s;]/.test(spec)) throw new XylemError(`Invalid package request '${spec}'`, 'EINVAL');
    if (next.packages.includes(spec)) {
      if (change.idempotent) continue;
      throw new XylemError(`Package/capability '${spec}' is already requested`, 'EALREADY');
    }
    const inBase = providedByBase(base, spec);
    if (inBase && !change.allowInactive && !next.removes.includes(inBase.nevra.name))
      throw new XylemError(`"${spec}" is already provided by: ${formatNevra(inBase.nevra)}. Use --allow-inactive to explicitly require it.`, 'EINACTIVE');
    next.packages.push(spec);
  }
  for (const path of change.installLocal ?? []) {
    const e = localEntries.get(path);
    if (!e) throw new XylemError(`${path}: not imported`, 'EINTERNAL');
    const { name } = localName(e);
    if (next.local.includes(e)) {
      if (change.idempotent) continue;
      throw new XylemError(`Package '${localName(e).nevra}' is already requested`, 'EALREADY');
    }
    next.local = next.local.filter((x) => localName(x).name !== name);
    next.local.push(e);
  }
  for (const name of change.removes ?? []) {
    if (next.removes.includes(name)) {
      if (change.idempotent) continue;
      throw new XylemError(`Override already exists for package '${name}'`, 'EALREADY');
    }
    if (!base.some((p) => p.nevra.name === name)) throw new XylemError(`Package '${name}' not found in the base`, 'ENOTINBASE');
    next.removes.push(name);
  }
  for (const path of change.replaceLocal ?? []) {
    const e = localEntries.get(path);
    if (!e) throw new XylemError(`${path}: not imported`, 'EINTERNAL');
    const { name, nevra } = localName(e);
    if (!base.some((p) => p.nevra.name === name)) throw new XylemError(`override replace ${path}: package '${name}' is not in the base`, 'ENOTINBASE');
    if (next.removes.includes(name)) throw new XylemError(`override replace ${nevra}: package '${name}' is already removed by an override`, 'EALREADY');
    next.replaceLocal = next.replaceLocal.filter((x) => localName(x).name !== name);
    next.replaceLocal.push(e);
  }
  for (const k of ['packages', 'local', 'removes', 'replaceLocal'] as const) next[k] = [...new Set(next[k])].sort();
  return next;
}
