// A compact set of repository objects keyed by (32 raw checksum bytes, object type), with an
// optional 32-bit value per entry: the reachability sets of fsck and prune and the have/need
// sets of pulls hold one entry per object, so they live in one growing Uint8Array (open
// addressing, linear probing) instead of a JS string or object per object — 37 bytes per slot,
// 50-100 bytes per object, against ~150-300 for a Set<string> of hex keys. libostree keeps the
// same sets as GHashTables of GVariant keys (ostree_repo_traverse_commit_union).
//
// Checksums are SHA-256 digests, uniformly distributed, so their first bytes are the hash.
// Entries are never removed (none of the users needs it), which keeps probing simple.

import { XylemError } from './errors.ts';

const KEY = 33; // 32 checksum bytes + 1 type byte (0 = empty slot); values in a parallel Uint32Array
const MIN_CAPACITY = 1024;
/** Beyond this many slots a set refuses to grow (~2.4 GiB); far past any real repository. */
const MAX_CAPACITY = 1 << 26;

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** An object identity (checksum and type) as the set hands it back. */
export interface ObjectId {
  checksum: string;
  type: number;
}

export class ObjectSet {
  private table: Uint8Array;
  private values: Uint32Array;
  private mask: number;
  private count = 0;
  private readonly scratch = new Uint8Array(32);

  constructor(initialCapacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < initialCapacity * 2 && cap < MAX_CAPACITY) cap *= 2;
    this.table = new Uint8Array(cap * KEY);
    this.values = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** Bytes held by the table (for tests and memory accounting). */
  get byteLength(): number {
    return this.table.byteLength + this.values.byteLength;
  }

  /** Capacity in slots; iterate slots 0..capacity-1 with checksumAt/typeAt (empty slots: type 0). */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Parses a 64-digit lowercase hex checksum into the scratch buffer (no allocation). */
  private bytesOf(checksum: string | Uint8Array): Uint8Array {
    if (typeof checksum !== 'string') {
      if (checksum.length !== 32) throw new XylemError(`Invalid checksum of length ${checksum.length} expected 32`);
      return checksum;
    }
    if (checksum.length !== 64) throw new XylemError(`Invalid checksum '${checksum}'`);
    const b = this.scratch;
    for (let i = 0; i < 32; i++) {
      const hi = nibble(checksum.charCodeAt(2 * i));
      const lo = nibble(checksum.charCodeAt(2 * i + 1));
      if (hi < 0 || lo < 0) throw new XylemError(`Invalid checksum '${checksum}'`);
      b[i] = (hi << 4) | lo;
    }
    return b;
  }

  private static checkType(type: number): void {
    if (!Number.isInteger(type) || type < 1 || type > 255) throw new XylemError(`Invalid object type ${type}`);
  }

  /** Slot index of the key, or -(insertion slot + 1) when absent. */
  private find(key: Uint8Array, type: number): number {
    const t = this.table;
    let i = ((key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) ^ (type * 0x9e3779b1)) & this.mask;
    for (;;) {
      const o = i * KEY;
      const st = t[o + 32]!;
      if (st === 0) return -(i + 1);
      if (st === type) {
        let j = 0;
        while (j < 32 && t[o + j] === key[j]) j++;
        if (j === 32) return i;
      }
      i = (i + 1) & this.mask;
    }
  }

  has(checksum: string | Uint8Array, type: number): boolean {
    ObjectSet.checkType(type);
    return this.find(this.bytesOf(checksum), type) >= 0;
  }

  /** Adds the object; returns true when it was not in the set yet. */
  add(checksum: string | Uint8Array, type: number, value = 0): boolean {
    ObjectSet.checkType(type);
    const key = this.bytesOf(checksum);
    let i = this.find(key, type);
    if (i >= 0) return false;
    if ((this.count + 1) * 4 > this.capacity * 3) {
      this.grow();
      i = this.find(key, type);
    }
    const slot = -i - 1;
    this.table.set(key, slot * KEY);
    this.table[slot * KEY + 32] = type;
    this.values[slot] = value >>> 0;
    this.count++;
    return true;
  }

  /** The value stored with an object, or undefined when absent. */
  get(checksum: string | Uint8Array, type: number): number | undefined {
    ObjectSet.checkType(type);
    const i = this.find(this.bytesOf(checksum), type);
    return i >= 0 ? this.values[i] : undefined;
  }

  /** Sets the value of an object, adding it when absent. */
  set(checksum: string | Uint8Array, type: number, value: number): void {
    ObjectSet.checkType(type);
    const i = this.find(this.bytesOf(checksum), type);
    if (i >= 0) this.values[i] = value >>> 0;
    else this.add(checksum, type, value);
  }

  private grow(): void {
    const oldCap = this.capacity;
    if (oldCap >= MAX_CAPACITY) throw new XylemError(`Object set is full (${this.count} objects)`);
    const old = this.table;
    const oldValues = this.values;
    this.table = new Uint8Array(oldCap * 2 * KEY);
    this.values = new Uint32Array(oldCap * 2);
    this.mask = oldCap * 2 - 1;
    for (let s = 0; s < oldCap; s++) {
      const o = s * KEY;
      const type = old[o + 32]!;
      if (type === 0) continue;
      const i = -this.find(old.subarray(o, o + 32), type) - 1;
      this.table.set(old.subarray(o, o + KEY), i * KEY);
      this.values[i] = oldValues[s]!;
    }
  }

  /** Type of the entry in slot `slot` (0 when the slot is empty). */
  typeAt(slot: number): number {
    return this.table[slot * KEY + 32] ?? 0;
  }

  /** Hex checksum of the entry in slot `slot`. */
  checksumAt(slot: number): string {
    const t = this.table;
    const o = slot * KEY;
    let s = '';
    for (let j = 0; j < 32; j++) s += HEX[t[o + j]!];
    return s;
  }

  /** Raw checksum bytes of a slot (a view into the table: copy before the set grows). */
  rawChecksumAt(slot: number): Uint8Array {
    return this.table.subarray(slot * KEY, slot * KEY + 32);
  }

  valueAt(slot: number): number {
    return this.values[slot]!;
  }

  /** Every entry (one small object per step; hold none of them). */
  *entries(): IterableIterator<ObjectId> {
    const cap = this.capacity;
    for (let s = 0; s < cap; s++) {
      const type = this.typeAt(s);
      if (type !== 0) yield { checksum: this.checksumAt(s), type };
    }
  }
}
