// The scripts' view of rpm's version comparison (rpm.vercmp in Lua, trigger version ranges):
// thin adapters over the one implementation in src/solve/version.ts.
import { compareEvrStrings, parseEvr as parseSolveEvr, rpmvercmp } from '../../solve/version.ts';

export { rpmvercmp };

/** Splits `[E:]V[-R]` (a missing epoch is 0). */
export function parseEvr(s: string): { epoch: number; version: string; release: string | null } {
  const e = parseSolveEvr(s);
  return { epoch: e.epoch === '' ? 0 : Number(e.epoch), version: e.version, release: e.release };
}

/** Compares two `[E:]V[-R]` strings as rpm.vercmp does: -1, 0 or 1 (a missing release sorts first). */
export function evrCompare(a: string, b: string): number {
  return compareEvrStrings(a, b);
}
