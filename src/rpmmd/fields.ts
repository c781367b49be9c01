// Small readers shared by the rpm-md document parsers: numeric attributes and texts checked the way
// libsolv's repo_rpmmd reads them (decimal, no sign), dependency entries (`<rpm:entry name flags
// epoch ver rel pre>`) turned into src/rpm/types.ts Dependencies, and byte-source helpers.

import type { FsHost } from '../host.ts';
import { DepFlag, type Dependency } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';

/** What a value is, for errors: a string, or a function building it only when an error needs it. */
export type What = string | (() => string);
const label = (w: What): string => (typeof w === 'function' ? w() : w);

/** A non-negative decimal integer from metadata; `null` when absent. */
export function parseCount(v: string | undefined, what: What): number | null {
  if (v === undefined) return null;
  const s = v.trim();
  if (s === '') return null;
  if (!/^\d{1,16}$/.test(s)) throw new XylemError(`${label(what)}: '${v.slice(0, 40)}' is not a non-negative integer`, 'EINVAL');
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new XylemError(`${label(what)}: ${s} is too large`, 'EINVAL');
  return n;
}

/** A timestamp (seconds); createrepo writes integers, some tools write `1700000000.5`. */
export function parseTime(v: string | undefined, what: What): number | null {
  if (v === undefined || v.trim() === '') return null;
  const s = v.trim();
  if (!/^\d{1,16}(\.\d{1,9})?$/.test(s)) throw new XylemError(`${label(what)}: '${v.slice(0, 40)}' is not a timestamp`, 'EINVAL');
  return Math.floor(Number(s));
}

/** An rpm epoch: decimal digits up to 2^31-1 ("" or absent → 0). */
export function parseEpoch(v: string | undefined, what: What): number {
  if (v === undefined || v === '') return 0;
  if (!/^\d{1,10}$/.test(v) || Number(v) > 0x7fffffff) throw new XylemError(`${label(what)}: epoch '${v.slice(0, 40)}' is not a number up to 2147483647`, 'EINVAL');
  return Number(v);
}

const FLAGS: Record<string, number> = {
  LT: DepFlag.LESS,
  GT: DepFlag.GREATER,
  EQ: DepFlag.EQUAL,
  LE: DepFlag.LESS | DepFlag.EQUAL,
  GE: DepFlag.GREATER | DepFlag.EQUAL,
};

/**
 * One `<rpm:entry>` as a Dependency: flags from LT/GT/EQ/LE/GE plus PREREQ for `pre="1"`, the
 * version composed as `[E:]V[-R]` (an epoch of "0" is left out: createrepo writes 0 for "none" and
 * the two compare equal).
 */
export function parseEntry(attrs: Readonly<Record<string, string>>, what: What): Dependency {
  const name = attrs.name;
  if (name === undefined || name === '') throw new XylemError(`${label(what)}: dependency entry without a name`, 'EINVAL');
  let flags = 0;
  const f = attrs.flags;
  if (f !== undefined && f !== '') {
    const bits = Object.hasOwn(FLAGS, f) ? FLAGS[f] : undefined;
    if (bits === undefined) throw new XylemError(`${label(what)}: dependency '${name}' has unknown flags '${f.slice(0, 20)}'`, 'EINVAL');
    flags = bits;
  }
  const pre = attrs.pre;
  if (pre === '1' || pre === 'true') flags |= DepFlag.PREREQ;
  let version = '';
  const ver = attrs.ver;
  if (ver !== undefined && ver !== '') {
    const e = attrs.epoch;
    if (e !== undefined && e !== '' && e !== '0') version = `${parseEpoch(e, () => `${label(what)}: dependency '${name}'`)}:`;
    version += ver;
    const rel = attrs.rel;
    if (rel !== undefined && rel !== '') version += `-${rel}`;
  } else if (flags & DepFlag.SENSEMASK) {
    throw new XylemError(`${label(what)}: dependency '${name}' has flags ${f} but no version`, 'EINVAL');
  }
  return { name, flags, version };
}

/** Chunks of a local file, read `chunkSize` bytes at a time. */
export async function* readFileChunks(fs: FsHost, path: string, chunkSize = 256 * 1024): AsyncGenerator<Uint8Array> {
  if (typeof path !== 'string' || path === '') throw new TypeError('readFileChunks: path is required');
  const h = await fs.openRead(path);
  try {
    let pos = 0;
    for (;;) {
      const buf = new Uint8Array(chunkSize);
      const n = await h.read(buf, 0, chunkSize, pos);
      if (n === 0) return;
      pos += n;
      yield n === chunkSize ? buf : buf.subarray(0, n);
    }
  } finally {
    await h.close();
  }
}

/** One buffer (or several) as a byte stream. */
export async function* bytesSource(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}
