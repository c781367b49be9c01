// Package triggers (%triggerin) for a transaction that only installs: which trigger scripts fire
// and with which arguments, as rpm decides (lib/rpmtriggers.cc, rpm-packages.md §3). A trigger
// condition names a package (by name, never a Provide) with an optional version range; it fires
// once per matching package when the trigger's owner or the matched package is new in the
// transaction: `$1` = instances of the owner after the transaction (1 here), `$2` = instances of the
// matched package (1). Order: for each new package in transaction order, the triggers it sets off;
// then the new packages' triggers on packages already installed.

import { DepFlag } from '../../rpm/types.ts';
import { evrCompare, parseEvr, rpmvercmp } from './vercmp.ts';
import type { PackageTrigger, ScriptPackage } from './types.ts';

/** True when the package `evr` ([E:]V-R) satisfies `flags`/`version` (rpm's rpmdsCompare rules). */
export function evrSatisfies(evr: string | undefined, flags: number, version: string): boolean {
  const sense = flags & DepFlag.SENSEMASK;
  if (version === '' || sense === 0) return true;
  if (evr === undefined) return false;
  const a = parseEvr(evr);
  const b = parseEvr(version);
  // A side without a release (or the condition without one) compares epoch and version only.
  let c = a.epoch !== b.epoch ? (a.epoch < b.epoch ? -1 : 1) : rpmvercmp(a.version, b.version);
  if (c === 0 && a.release !== null && b.release !== null) c = evrCompare(evr, version);
  if (c < 0) return (sense & DepFlag.LESS) !== 0;
  if (c > 0) return (sense & DepFlag.GREATER) !== 0;
  return (sense & DepFlag.EQUAL) !== 0;
}

/** A trigger that fires: its owner, the trigger, the package that set it off. */
export interface FiredTrigger {
  owner: ScriptPackage;
  trigger: PackageTrigger;
  target: ScriptPackage;
}

function matches(t: PackageTrigger, p: ScriptPackage): boolean {
  return t.conditions.some((c) => c.name === p.name && evrSatisfies(p.evr, c.flags, c.version));
}

/** The %triggerin scripts a transaction fires, in rpm's order (see the file comment). */
export function firedTriggerins(packages: ScriptPackage[], installed: ScriptPackage[]): FiredTrigger[] {
  const fresh = new Set(packages);
  const everyone = [...installed.filter((p) => !packages.some((n) => n.name === p.name)), ...packages];
  const out: FiredTrigger[] = [];
  for (const target of packages)
    for (const owner of everyone) for (const t of owner.triggers) if (t.kind === 'in' && matches(t, target)) out.push({ owner, trigger: t, target });
  for (const owner of packages)
    for (const target of everyone) if (!fresh.has(target)) for (const t of owner.triggers) if (t.kind === 'in' && matches(t, target)) out.push({ owner, trigger: t, target });
  return out;
}
