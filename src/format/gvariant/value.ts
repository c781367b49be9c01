// JavaScript value model for GVariant data, shared by the encoder, decoder and printer.
//
// Mapping: y n q i u h d -> number; b -> boolean; x t -> bigint; s o g -> string;
// ay -> Uint8Array; any other array -> GVValue[]; struct -> GVValue[] tuple; dict entry -> [k, v];
// v -> GVVariant; maybe mT -> null (Nothing) or the value.
// Nested maybes (mmT) cannot tell Just(Nothing) from Nothing with null alone, so there the outer
// Just is a one-element array: mmi Just(Just 3) = [3], Just(Nothing) = [null], Nothing = null.

export type GVValue = number | bigint | boolean | string | Uint8Array | GVValue[] | GVVariant | null;

/** A value of type `v`: a type string plus a value of that type. */
export interface GVVariant {
  type: string;
  value: GVValue;
}

/** Reads options common to the codec. */
export interface ByteOrderOptions {
  /** Numbers are big-endian (framing offsets are always little-endian). */
  bigEndian?: boolean;
}

/** Rounds `n` up to a multiple of `align` (a power of two). */
export function alignUp(n: number, align: number): number {
  const r = n % align;
  return r === 0 ? n : n + align - r;
}

/** Framing offset width GLib's serialiser picks for a container body plus `count` offsets. */
export function offsetWidthFor(bodySize: number, count: number): number {
  if (count === 0) return 0;
  if (bodySize + count <= 0xff) return 1;
  if (bodySize + 2 * count <= 0xffff) return 2;
  if (bodySize + 4 * count <= 0xffffffff) return 4;
  return 8;
}

/** Framing offset width a reader derives from a container's total size. */
export function offsetWidthOfSize(size: number): number {
  if (size === 0) return 0;
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  if (size <= 0xffffffff) return 4;
  return 8;
}
