// Parses commit timestamps the way `ostree commit --timestamp` and SOURCE_DATE_EPOCH accept them
// (the subset of gnulib parse_datetime forms used in practice), always as UTC seconds.

import { XylemError } from '../util/errors.ts';

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

function monthIndex(name: string): number {
  const n = name.toLowerCase();
  const i = MONTHS.findIndex((m) => m === n || m.slice(0, 3) === n.slice(0, 3));
  return i;
}

/** Parses a --timestamp value; returns seconds since the epoch. */
export function parseTimestamp(text: string): bigint {
  const s = text.trim();
  let m: RegExpMatchArray | null;
  if ((m = s.match(/^@(-?\d+)$/))) return BigInt(m[1]!);
  if ((m = s.match(/^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/i))) {
    const [, y, mo, d, h = '0', mi = '0', se = '0', tz] = m;
    let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se)) / 1000;
    if (tz && /^[+-]/.test(tz)) {
      const sign = tz[0] === '-' ? -1 : 1;
      const digits = tz.slice(1).replace(':', '');
      t -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2, 4)) * 60);
    }
    return BigInt(t);
  }
  if ((m = s.match(/^([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/))) {
    const mi = monthIndex(m[1]!);
    if (mi >= 0) return BigInt(Date.UTC(Number(m[3]), mi, Number(m[2]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)) / 1000);
  }
  if ((m = s.match(/^(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})$/))) {
    const mi = monthIndex(m[2]!);
    if (mi >= 0) return BigInt(Date.UTC(Number(m[3]), mi, Number(m[1])) / 1000);
  }
  throw new XylemError(`Could not parse '${text}'`);
}

/** SOURCE_DATE_EPOCH as ostree reads it; null when unset. */
export function sourceDateEpoch(env: Record<string, string | undefined> | undefined): bigint | null {
  const v = env?.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return null;
  if (!/^\d+$/.test(v)) throw new XylemError(`Failed to convert SOURCE_DATE_EPOCH`);
  const n = BigInt(v);
  if (n > 0xffffffffffffffffn || n > BigInt(Number.MAX_SAFE_INTEGER) * 1000n)
    throw new XylemError('Parsing SOURCE_DATE_EPOCH: Numerical result out of range');
  return n;
}
