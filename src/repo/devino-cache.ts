// The (device, inode) → content checksum cache of libostree's OstreeRepoDevInoCache (`checkout
// --link-checkout-speedup` / `commit --link-checkout-speedup`): a checkout that hardlinks a file
// from a bare-family object store records which object the inode is, with the file header the
// object's checksum covers; a later commit of a tree holding that inode looks it up and reuses the
// checksum when the header it would hash is exactly that one, without reading or hashing the
// content. compose uses it between its package-cache checkouts and the commit of the assembled
// root (rpm-ostree passes one cache from checkout to commit the same way).
//
// Compact on purpose (one entry per checked-out file): the entries live in typed arrays indexed by
// a slot, found through one Map from inode number to the first slot of that inode (a chain links
// the rare same-inode entries of other devices); xattr lists are interned (almost all are empty).

import type { Xattr } from '../format/objects.ts';
import { fromHex, toHex } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';

/** The part of an object's file header a checksum covers besides the content (regular files). */
export interface DevinoHeader {
  uid: number;
  gid: number;
  mode: number;
  /** Sorted by name, as the checksum covers them. */
  xattrs: readonly Xattr[];
}

/** What a lookup finds: the object's checksum, its header, and the inode's state when recorded. */
export interface DevinoEntry {
  checksum: string;
  header: DevinoHeader;
  /** st_size and st_mtime (ms) of the inode when it was recorded: a file written since differs. */
  size: number;
  mtimeMs: number;
}

/** More entries than this is not a checkout (ostree trees hold well under a million files). */
const MAX_ENTRIES = 1 << 26;
const NO_SLOT = -1;

export class DevinoCache {
  private count = 0;
  private capacity = 0;
  /** inode → first slot holding it; `next` chains further slots of the same inode number. */
  private readonly firstSlot = new Map<number, number>();
  private next = new Int32Array(0);
  private dev = new Float64Array(0);
  private size = new Float64Array(0);
  private mtime = new Float64Array(0);
  /** uid, gid, mode, interned xattr list id: four per slot. */
  private meta = new Uint32Array(0);
  private csum = new Uint8Array(0);
  private readonly xattrLists: Array<readonly Xattr[]> = [[]];
  private readonly xattrIds = new Map<string, number>();

  /** Number of inodes recorded. */
  get entries(): number {
    return this.count;
  }

  /**
   * Records that inode (`dev`, `ino`), of `size` bytes and mtime `mtimeMs`, is the object
   * `checksum` with file header `header`. A later record of the same inode replaces the earlier.
   */
  add(dev: number, ino: number, checksum: string, header: DevinoHeader, size: number, mtimeMs: number): void {
    if (!usableKey(dev, ino)) return;
    if (!/^[0-9a-f]{64}$/.test(checksum)) throw new XylemError(`devino cache: invalid checksum '${checksum}'`, 'EINVAL');
    if (!Number.isInteger(header.uid) || !Number.isInteger(header.gid) || !Number.isInteger(header.mode) || header.uid < 0 || header.gid < 0 || header.mode < 0)
      throw new XylemError(`devino cache: invalid header for ${checksum}`, 'EINVAL');
    let slot = this.find(dev, ino);
    if (slot === NO_SLOT) {
      if (this.count >= MAX_ENTRIES) throw new XylemError(`devino cache: more than ${MAX_ENTRIES} files`, 'E2BIG');
      if (this.count === this.capacity) this.grow();
      slot = this.count++;
      const first = this.firstSlot.get(ino);
      this.next[slot] = first ?? NO_SLOT;
      this.firstSlot.set(ino, slot);
      this.dev[slot] = dev;
    }
    this.size[slot] = size;
    this.mtime[slot] = mtimeMs;
    const m = slot * 4;
    this.meta[m] = header.uid;
    this.meta[m + 1] = header.gid;
    this.meta[m + 2] = header.mode;
    this.meta[m + 3] = this.internXattrs(header.xattrs);
    this.csum.set(fromHex(checksum), slot * 32);
  }

  /** The entry for inode (`dev`, `ino`), or null. */
  lookup(dev: number, ino: number): DevinoEntry | null {
    if (!usableKey(dev, ino)) return null;
    const slot = this.find(dev, ino);
    if (slot === NO_SLOT) return null;
    const m = slot * 4;
    return {
      checksum: toHex(this.csum.subarray(slot * 32, slot * 32 + 32)),
      header: { uid: this.meta[m]!, gid: this.meta[m + 1]!, mode: this.meta[m + 2]!, xattrs: this.xattrLists[this.meta[m + 3]!]! },
      size: this.size[slot]!,
      mtimeMs: this.mtime[slot]!,
    };
  }

  private find(dev: number, ino: number): number {
    let slot = this.firstSlot.get(ino) ?? NO_SLOT;
    while (slot !== NO_SLOT && this.dev[slot] !== dev) slot = this.next[slot]!;
    return slot;
  }

  private grow(): void {
    const cap = Math.min(MAX_ENTRIES, Math.max(1024, this.capacity * 2));
    const widen = <T extends Int32Array | Float64Array | Uint32Array | Uint8Array>(a: T, per: number, make: (n: number) => T): T => {
      const b = make(cap * per);
      b.set(a);
      return b;
    };
    this.next = widen(this.next, 1, (n) => new Int32Array(n));
    this.dev = widen(this.dev, 1, (n) => new Float64Array(n));
    this.size = widen(this.size, 1, (n) => new Float64Array(n));
    this.mtime = widen(this.mtime, 1, (n) => new Float64Array(n));
    this.meta = widen(this.meta, 4, (n) => new Uint32Array(n));
    this.csum = widen(this.csum, 32, (n) => new Uint8Array(n));
    this.capacity = cap;
  }

  private internXattrs(xattrs: readonly Xattr[]): number {
    if (xattrs.length === 0) return 0;
    const key = xattrs.map((x) => `${x.name}\0${toHex(x.value)}`).join('\0\0');
    let id = this.xattrIds.get(key);
    if (id === undefined) {
      id = this.xattrLists.length;
      this.xattrLists.push(xattrs.map((x) => ({ name: x.name, value: x.value.slice() })));
      this.xattrIds.set(key, id);
    }
    return id;
  }
}

/**
 * Inode numbers above 2^53 lose bits as JavaScript numbers: two inodes could share a key, so they
 * are never cached (libostree keys by the exact st_ino).
 */
function usableKey(dev: number, ino: number): boolean {
  return Number.isSafeInteger(dev) && Number.isSafeInteger(ino) && dev >= 0 && ino > 0;
}
