// ObjectSet (src/util/object-set.ts), the compact set of (checksum, type) that fsck, prune and
// pulls keep one entry per object in: membership, values, growth and iteration against a plain
// JS Set/Map of the same keys as the reference, over real SHA-256 checksums.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ObjectSet } from '../../src/util/object-set.ts';

const sha = (i: number): string => createHash('sha256').update(`object ${i}`).digest('hex');

describe('ObjectSet', () => {
  it('agrees with a Set of hex keys through many growths', () => {
    const set = new ObjectSet();
    const ref = new Map<string, number>();
    for (let i = 0; i < 50_000; i++) {
      const c = sha(i);
      const type = 1 + (i % 4);
      const added = set.add(c, type, i);
      expect(added).toBe(!ref.has(`${c}.${type}`));
      ref.set(`${c}.${type}`, i);
      // the same checksum under another type is another object
      if (i % 1000 === 0) expect(set.has(c, type === 1 ? 2 : 1)).toBe(false);
    }
    expect(set.size).toBe(ref.size);
    for (let i = 0; i < 50_000; i += 7) {
      const type = 1 + (i % 4);
      expect(set.has(sha(i), type)).toBe(true);
      expect(set.get(sha(i), type)).toBe(i);
      expect(set.has(sha(i + 1_000_000), type)).toBe(false);
    }
    const seen = new Set<string>();
    for (const { checksum, type } of set.entries()) seen.add(`${checksum}.${type}`);
    expect(seen).toEqual(new Set(ref.keys()));
    // compact: well under 100 bytes per object (a Set<string> of such keys takes ~150-200)
    expect(set.byteLength / set.size).toBeLessThan(100);
  });

  it('takes raw checksum bytes and hex (either case) as the same key', () => {
    const set = new ObjectSet();
    const hex = sha(1);
    const raw = Buffer.from(hex, 'hex');
    expect(set.add(new Uint8Array(raw), 2)).toBe(true);
    expect(set.add(hex, 2)).toBe(false);
    expect(set.has(hex.toUpperCase(), 2)).toBe(true);
    set.set(hex, 2, 7);
    expect(set.get(new Uint8Array(raw), 2)).toBe(7);
    expect(set.size).toBe(1);
  });

  it('refuses malformed checksums and types', () => {
    const set = new ObjectSet();
    expect(() => set.add('abc', 1)).toThrow(/Invalid checksum/);
    expect(() => set.add('z'.repeat(64), 1)).toThrow(/Invalid checksum/);
    expect(() => set.add(new Uint8Array(31), 1)).toThrow(/length 31/);
    expect(() => set.add(sha(0), 0)).toThrow(/Invalid object type/);
    expect(() => set.has(sha(0), 256)).toThrow(/Invalid object type/);
    expect(set.size).toBe(0);
  });
});
