// Reproduces the iteration order of GLib's GHashTable keyed by g_str_hash, which is the order in
// which libostree's GVariantDict-built a{sv} dictionaries (commit metadata, summary metadata) come
// out. Matching it makes xylem and ostree produce the same commit checksum for the same input.
// Model: open addressing, 2^shift buckets, index = (hash*11) mod prime, quadratic probing, in-place
// rehash on growth — as in GLib 2.60+ (Debian 12 ships 2.74).

const MIN_SHIFT = 3;
const PRIME_MOD = [
  1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287, 1048573,
  2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647,
];

/** g_str_hash: djb2 over the UTF-8 bytes as *signed* chars. */
export function gStrHash(key: string): number {
  const bytes = new TextEncoder().encode(key);
  let h = 5381;
  for (const b of bytes) {
    const c = b > 127 ? b - 256 : b;
    h = (Math.imul(h, 33) + c) >>> 0;
  }
  return h;
}

class StrHashTable<V> {
  private shift = MIN_SHIFT;
  private size = 1 << MIN_SHIFT;
  private mod = PRIME_MOD[MIN_SHIFT]!;
  private mask = (1 << MIN_SHIFT) - 1;
  private hashes: number[] = new Array(1 << MIN_SHIFT).fill(0);
  private keys: (string | undefined)[] = new Array(1 << MIN_SHIFT).fill(undefined);
  private values: (V | undefined)[] = new Array(1 << MIN_SHIFT).fill(undefined);
  private nnodes = 0;
  private noccupied = 0;

  private toIndex(hash: number): number {
    return (Math.imul(hash, 11) >>> 0) % this.mod;
  }

  private setShift(shift: number): void {
    this.shift = shift;
    this.size = 1 << shift;
    this.mod = PRIME_MOD[shift]!;
    this.mask = this.size - 1;
  }

  insert(key: string, value: V): void {
    let hash = gStrHash(key);
    if (hash < 2) hash = 2;
    let idx = this.toIndex(hash);
    let step = 0;
    let tombstone = -1;
    while (this.hashes[idx] !== 0) {
      if (this.hashes[idx] === hash && this.keys[idx] === key) {
        this.values[idx] = value;
        return;
      }
      if (this.hashes[idx] === 1 && tombstone < 0) tombstone = idx;
      step++;
      idx = (idx + step) & this.mask;
    }
    if (tombstone >= 0) idx = tombstone;
    const wasUnused = this.hashes[idx] === 0;
    this.hashes[idx] = hash;
    this.keys[idx] = key;
    this.values[idx] = value;
    this.nnodes++;
    if (wasUnused) {
      this.noccupied++;
      this.maybeResize();
    }
  }

  private maybeResize(): void {
    const n = this.noccupied;
    if ((this.size > this.nnodes * 4 && this.size > 1 << MIN_SHIFT) || this.size <= n + Math.floor(n / 16)) this.resize();
  }

  private resize(): void {
    const oldSize = this.size;
    let want = Math.trunc(this.nnodes * 1.333);
    let shift = 0;
    while (want) {
      want >>= 1;
      shift++;
    }
    this.setShift(Math.max(shift, MIN_SHIFT));
    if (this.size > oldSize) {
      for (let i = oldSize; i < this.size; i++) {
        this.hashes.push(0);
        this.keys.push(undefined);
        this.values.push(undefined);
      }
    }
    const done = new Uint8Array(Math.max(this.size, oldSize));
    for (let i = 0; i < oldSize; i++) {
      let nodeHash = this.hashes[i]!;
      if (nodeHash < 2) {
        this.hashes[i] = 0;
        continue;
      }
      if (done[i]) continue;
      this.hashes[i] = 0;
      let key = this.keys[i];
      let value = this.values[i];
      this.keys[i] = undefined;
      this.values[i] = undefined;
      for (;;) {
        let hv = this.toIndex(nodeHash);
        let step = 0;
        while (done[hv]) {
          step++;
          hv = (hv + step) & this.mask;
        }
        done[hv] = 1;
        const replaced = this.hashes[hv]!;
        this.hashes[hv] = nodeHash;
        if (replaced < 2) {
          this.keys[hv] = key;
          this.values[hv] = value;
          break;
        }
        nodeHash = replaced;
        const k2 = this.keys[hv];
        const v2 = this.values[hv];
        this.keys[hv] = key;
        this.values[hv] = value;
        key = k2;
        value = v2;
      }
    }
    if (this.size < oldSize) {
      this.hashes.length = this.size;
      this.keys.length = this.size;
      this.values.length = this.size;
    }
    this.noccupied = this.nnodes;
  }

  entries(): Array<[string, V]> {
    const out: Array<[string, V]> = [];
    for (let i = 0; i < this.size; i++) if (this.hashes[i]! >= 2) out.push([this.keys[i]!, this.values[i]!]);
    return out;
  }
}

/**
 * Orders dictionary entries as g_variant_dict_end() would after inserting them in the given order
 * (later duplicates replace earlier values in place).
 */
export function glibDictOrder<V>(entries: ReadonlyArray<readonly [string, V]>): Array<[string, V]> {
  const t = new StrHashTable<V>();
  for (const [k, v] of entries) t.insert(k, v);
  return t.entries();
}
