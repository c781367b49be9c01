// Package lists derived from an installed set: the `rpmostree.rpmdb.pkglist` commit-metadata value
// (a(sssss): name, epoch as a decimal string — "0" when unset, as libdnf reports it —, version,
// release, arch; sorted by name, then EVR, then arch as dnf_package_cmp orders them), and
// `rpm-ostree db version`'s `<count>:<sha256>` string (SHA-256 over the concatenated ENVRAs —
// `E:N-V-R.A`, the epoch only when non-zero — of the packages sorted by name then EVR, as
// rpmhdrs_rpmdbv in src/libpriv/rpmostree-rpm-util.cxx computes it).

import type { GVVariant } from '../format/gvariant.ts';
import { encode } from '../format/gvariant.ts';
import type { Nevra } from '../rpm/types.ts';
import { nobleHashProvider, oneShot } from '../util/sha256.ts';
import { CorruptionError } from '../util/errors.ts';
import type { HeaderBlob } from './header-blob.ts';
import { comparePackageEvr as compareEvr } from '../solve/version.ts';

export const PKGLIST_KEY = 'rpmostree.rpmdb.pkglist';
export const PKGLIST_TYPE = 'a(sssss)';

const TAG_NAME = 1000;
const TAG_VERSION = 1001;
const TAG_RELEASE = 1002;
const TAG_EPOCH = 1003;
const TAG_ARCH = 1022;

/** The identity of an installed header. */
export function headerNevra(h: HeaderBlob): Nevra {
  const name = h.string(TAG_NAME);
  const version = h.string(TAG_VERSION);
  const release = h.string(TAG_RELEASE);
  if (name === undefined || version === undefined || release === undefined) throw new CorruptionError(`${h.what}: header lacks NAME, VERSION or RELEASE`);
  // Headers without ARCH (gpg-pubkey pseudo-packages) answer "(none)" in rpm's queries.
  const arch = h.string(TAG_ARCH) ?? '(none)';
  const epoch = h.uint32(TAG_EPOCH);
  return { name, epoch: epoch === undefined ? null : epoch, version, release, arch };
}

function strcmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkList(pkgs: readonly Nevra[], fn: string): void {
  if (!Array.isArray(pkgs)) throw new TypeError(`${fn}: an array of packages is required`);
  for (const p of pkgs) {
    if (!p || typeof p.name !== 'string' || typeof p.version !== 'string' || typeof p.release !== 'string' || typeof p.arch !== 'string')
      throw new TypeError(`${fn}: every package needs name, version, release and arch strings`);
  }
}

/** `pkgs` in pkglist order: name, then EVR, then arch. */
export function sortPkglist(pkgs: readonly Nevra[]): Nevra[] {
  checkList(pkgs, 'sortPkglist');
  return [...pkgs].sort((a, b) => strcmp(a.name, b.name) || compareEvr(a, b) || strcmp(a.arch, b.arch));
}

/** The `rpmostree.rpmdb.pkglist` value of an installed set. */
export function pkglistVariant(pkgs: readonly Nevra[]): GVVariant {
  const value = sortPkglist(pkgs).map((p) => [p.name, String(p.epoch ?? 0), p.version, p.release, p.arch]);
  return { type: PKGLIST_TYPE, value };
}

/** The serialized `a(sssss)` bytes of the pkglist (normal form). */
export function encodePkglist(pkgs: readonly Nevra[]): Uint8Array {
  const v = pkglistVariant(pkgs);
  return encode(v.type, v.value);
}

/** `E:N-V-R.A` with the epoch only when non-zero (rpm-ostree's pkg_envra_strdup). */
export function envra(p: Nevra): string {
  const base = `${p.name}-${p.version}-${p.release}.${p.arch}`;
  return p.epoch ? `${p.epoch}:${base}` : base;
}

/** `rpm-ostree db version`'s rpmdb version: `<count>:<sha256 hex>`. */
export function rpmdbVersion(pkgs: readonly Nevra[], sha256: (data: Uint8Array) => Uint8Array = oneShot(nobleHashProvider)): string {
  checkList(pkgs, 'rpmdbVersion');
  const sorted = [...pkgs].sort((a, b) => strcmp(a.name, b.name) || compareEvr(a, b));
  const text = sorted.map(envra).join('');
  const digest = sha256(new TextEncoder().encode(text));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return `${sorted.length}:${hex}`;
}
