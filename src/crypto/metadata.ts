// Signature lists inside detached metadata (a commit's `.commitmeta`, a repo's `summary.sig`):
// both are a{sv} dictionaries whose signature entries are `aay`, one blob per signature. Appends
// and removals give the same bytes libostree writes (g_variant_dict order, normal form).

import { decode, encode, type GVVariant } from '../format/gvariant.ts';
import { glibDictOrder } from '../format/glib-hash-order.ts';
import { XylemError } from '../util/errors.ts';

/** Metadata keys of the signature kinds libostree knows. */
export const GPG_SIGS_KEY = 'ostree.gpgsigs';
export const ED25519_SIGS_KEY = 'ostree.sign.ed25519';
export const DUMMY_SIGS_KEY = 'ostree.sign.dummy';

export type DetachedMetadata = Array<[string, GVVariant]>;

/** Cap on detached metadata we parse (libostree's OSTREE_MAX_METADATA_SIZE is 10 MiB). */
export const MAX_DETACHED_METADATA_SIZE = 10 * 1024 * 1024;

/** Parses detached metadata bytes (a{sv}, strict normal form). */
export function parseDetachedMetadata(data: Uint8Array, context = 'detached metadata'): DetachedMetadata {
  if (!(data instanceof Uint8Array)) throw new TypeError('parseDetachedMetadata: data must be a Uint8Array');
  if (data.length > MAX_DETACHED_METADATA_SIZE)
    throw new XylemError(`${context} is ${data.length} bytes, exceeding maximum ${MAX_DETACHED_METADATA_SIZE}`);
  return decode('a{sv}', data, { context }) as DetachedMetadata;
}

/**
 * Detached metadata fetched from a remote, read as libostree reads it: GLib takes malformed
 * serialised data as an empty dictionary (so it carries no signatures) instead of failing, which
 * lets a pull without signature verification go through a corrupt `.commitmeta`. `wellFormed`
 * says whether the bytes were a valid a{sv} in normal form (only those are worth storing).
 */
export function readDetachedMetadataLenient(data: Uint8Array, context = 'detached metadata'): { md: DetachedMetadata; wellFormed: boolean } {
  if (!(data instanceof Uint8Array)) throw new TypeError('readDetachedMetadataLenient: data must be a Uint8Array');
  if (data.length > MAX_DETACHED_METADATA_SIZE)
    throw new XylemError(`${context} is ${data.length} bytes, exceeding maximum ${MAX_DETACHED_METADATA_SIZE}`);
  try {
    return { md: decode('a{sv}', data, { context }) as DetachedMetadata, wellFormed: true };
  } catch {
    return { md: [], wellFormed: false };
  }
}

export function encodeDetachedMetadata(md: DetachedMetadata): Uint8Array {
  return encode('a{sv}', md);
}

/**
 * The signature blobs stored under `key`, or null when the key is absent or not of type aay
 * (g_variant_lookup_value with an expected type behaves the same way).
 */
export function getSignatures(md: DetachedMetadata | null, key: string): Uint8Array[] | null {
  if (md === null) return null;
  const entry = md.find(([k]) => k === key);
  if (!entry || entry[1].type !== 'aay') return null;
  return (entry[1].value as Uint8Array[]).slice();
}

/**
 * _ostree_detached_metadata_append_gpg_sig / _sign_detached_metadata_append: existing entries are
 * kept, `signature` is appended to the `key` list, and the dictionary comes out in GLib's order.
 */
export function appendSignature(md: DetachedMetadata | null, key: string, signature: Uint8Array): DetachedMetadata {
  if (typeof key !== 'string' || key === '') throw new TypeError('appendSignature: key must be a non-empty string');
  if (!(signature instanceof Uint8Array)) throw new TypeError('appendSignature: signature must be a Uint8Array');
  const existing = md ?? [];
  const list = getSignatures(existing, key) ?? [];
  list.push(signature);
  return glibDictOrder<GVVariant>([...existing, [key, { type: 'aay', value: list }]]);
}

/**
 * Replaces (or, with an empty list, removes) the `key` list, as `ostree gpg-sign --delete` does
 * with g_variant_dict_insert_value / g_variant_dict_remove.
 */
export function replaceSignatures(md: DetachedMetadata | null, key: string, signatures: Uint8Array[]): DetachedMetadata {
  const existing = md ?? [];
  if (signatures.length === 0) return glibDictOrder(existing).filter(([k]) => k !== key);
  return glibDictOrder<GVVariant>([...existing, [key, { type: 'aay', value: signatures }]]);
}
