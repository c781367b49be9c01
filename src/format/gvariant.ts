// GVariant codec (GLib serialisation format used by every OSTree metadata object): public API.
// Encoding produces normal form; decoding is strict and rejects anything not in normal form;
// print reproduces g_variant_print; parseText reads GVariant text format. Implementation lives in
// ./gvariant/*.ts. Value mapping: see ./gvariant/value.ts (nested maybes mmT: Just x = [x]).

import { decodeValue } from './gvariant/decode.ts';
import { encodeValue } from './gvariant/encode.ts';
import { printGVariant } from './gvariant/print.ts';
import { parseGVariantText } from './gvariant/text.ts';
import { parseType } from './gvariant/type.ts';
import type { GVValue, GVVariant } from './gvariant/value.ts';

export type { GVType } from './gvariant/type.ts';
export { parseType, isValidType, isSignature, isObjectPath, MAX_VALUE_DEPTH } from './gvariant/type.ts';
export type { GVValue, GVVariant } from './gvariant/value.ts';
export { formatDouble, quoteString } from './gvariant/print.ts';

export interface EncodeOptions {
  /** Serialise numbers big-endian (framing offsets stay little-endian, as in GLib). */
  bigEndian?: boolean;
}

export interface DecodeOptions {
  /** Numbers are big-endian (framing offsets are little-endian regardless). */
  bigEndian?: boolean;
  /** Prefixed to error messages, e.g. the object file name. */
  context?: string;
}

export interface PrintOptions {
  /** Add type annotations where the text would otherwise be ambiguous (g_variant_print's type_annotate). */
  annotate?: boolean;
}

function checkData(data: Uint8Array): void {
  if (!(data instanceof Uint8Array)) throw new TypeError('GVariant data must be a Uint8Array');
}

/** Serialises `value` as `type` in normal form (the exact bytes GLib would produce). */
export function encode(type: string, value: GVValue, opts?: EncodeOptions): Uint8Array {
  return encodeValue(type, value, opts?.bigEndian === true);
}

/**
 * Strictly decodes `data` as `type`. Throws an Error naming the problem (and `opts.context`) for
 * anything not in normal form. Byte arrays (`ay`) are returned as zero-copy views into `data`.
 */
export function decode(type: string, data: Uint8Array, opts?: DecodeOptions): GVValue {
  checkData(data);
  return decodeValue(type, data, opts?.bigEndian === true, opts?.context);
}

/** True if `data` is a valid normal-form serialisation of `type`. */
export function isNormalForm(type: string, data: Uint8Array, opts?: EncodeOptions): boolean {
  parseType(type);
  checkData(data);
  try {
    decodeValue(type, data, opts?.bigEndian === true, undefined);
    return true;
  } catch {
    return false;
  }
}

/** g_variant_print(value, annotate) for a value of `type`. */
export function print(type: string, value: GVValue, opts?: PrintOptions): string {
  return printGVariant(type, value, opts?.annotate === true);
}

/**
 * Parses GVariant text format like g_variant_parse(type, text): e.g. `uint64 42`, `'value'`, `true`,
 * `@a{sv} {}`, `<'x'>`. Without `type` the type is inferred as GLib does (int32 / double / 's').
 */
export function parseText(text: string, type?: string): GVVariant {
  return parseGVariantText(text, type);
}

/** Builds a `v` value, validating the type string. */
export function variant(type: string, value: GVValue): GVVariant {
  return { type: parseType(type).str, value };
}
