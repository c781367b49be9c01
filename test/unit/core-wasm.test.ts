// Tests of the WASM core through its TS facade: SHA-256 (one-shot, streaming, 4-lane SIMD batches)
// against NIST vectors and node:crypto, dirtree table diff against a naive map-based reference,
// and the loading paths (embedded bytes, caller bytes, precompiled module, sync/async).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  loadCore, loadCoreSync, wasmHashProvider, wasmSimdSha256Many,
  type Core, type TreeEntry, type TreeDiffEntry,
} from '../../core-wasm/index.ts';
import { WASM_SHA256, wasmBytes } from '../../core-wasm/gen/wasm-bytes.ts';
import { mulberry32 as rng } from '../helpers/pseudo-random.ts';

const core: Core = loadCoreSync();
const hex = (d: Uint8Array): string => Buffer.from(d).toString('hex');
const nodeSha = (d: Uint8Array): string => createHash('sha256').update(d).digest('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);


function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 256) | 0;
  return out;
}

const NIST: [string, Uint8Array, string][] = [
  ['empty', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['448-bit', ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
  ['896-bit', ascii('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
  ['1 million a', new Uint8Array(1_000_000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

describe('core-wasm sha256', () => {
  it.each(NIST)('NIST vector %s: one-shot, streaming and batched', (_name, msg, want) => {
    expect(hex(core.sha256(msg))).toBe(want);
    const s = core.createSha256();
    for (let i = 0; i < msg.length; i += 1000) s.update(msg.subarray(i, i + 1000));
    expect(hex(s.digest())).toBe(want);
    expect(core.sha256Many([msg, msg, msg]).map(hex)).toEqual([want, want, want]);
  });

  it('matches node:crypto for every length 0..200 and around block and buffer boundaries', () => {
    const rand = rng(1);
    const lengths = [...Array(201).keys()];
    for (const base of [256, 448, 512, 4096, 16384, 65536, 131072]) {
      for (let d = -9; d <= 9; d++) lengths.push(base + d);
    }
    for (const n of lengths) {
      const msg = randomBytes(rand, n);
      expect(hex(core.sha256(msg)), `length ${n}`).toBe(nodeSha(msg));
    }
  });

  it('matches node:crypto on multi-MB inputs and on subarray views', () => {
    const rand = rng(2);
    const big = randomBytes(rand, 3 * 1024 * 1024 + 123);
    expect(hex(core.sha256(big))).toBe(nodeSha(big));
    const view = big.subarray(77, 77 + 2_000_001);
    expect(hex(core.sha256(view))).toBe(nodeSha(view));
  });

  it('streams with random chunk splits (including empty chunks and chunks larger than the WASM input buffer)', () => {
    const rand = rng(3);
    for (let round = 0; round < 40; round++) {
      const n = round < 30 ? (rand() * 3000) | 0 : 100_000 + ((rand() * 200_000) | 0);
      const msg = randomBytes(rand, n);
      const s = core.createSha256();
      let off = 0;
      while (off < n) {
        const step = rand() < 0.1 ? 0 : 1 + ((rand() * (round < 30 ? 200 : 90_000)) | 0);
        s.update(msg.subarray(off, off + step));
        off += step;
      }
      expect(hex(s.digest()), `round ${round} length ${n}`).toBe(nodeSha(msg));
    }
  });

  it('keeps many interleaved streams apart (more streams than WASM context slots)', () => {
    const rand = rng(4);
    const count = 75;
    const msgs = Array.from({ length: count }, (_, i) => randomBytes(rand, 50 + i * 37));
    const streams = msgs.map(() => core.createSha256());
    const offsets = new Array<number>(count).fill(0);
    let live = count;
    while (live > 0) {
      const i = (rand() * count) | 0;
      if (offsets[i] >= msgs[i].length) continue;
      const step = 1 + ((rand() * 70) | 0);
      streams[i].update(msgs[i].subarray(offsets[i], offsets[i] + step));
      offsets[i] += step;
      if (offsets[i] >= msgs[i].length) live--;
    }
    // Finish in a scrambled order too, hashing something else in between.
    const order = msgs.map((_, i) => i).sort(() => rand() - 0.5);
    for (const i of order) {
      core.sha256(randomBytes(rand, 10));
      expect(hex(streams[i].digest()), `stream ${i}`).toBe(nodeSha(msgs[i]));
    }
  });

  it('rejects use after digest and non-byte input', () => {
    const s = core.createSha256();
    s.update(ascii('x'));
    s.digest();
    expect(() => s.update(ascii('y'))).toThrow(/after digest/);
    expect(() => s.digest()).toThrow(/twice/);
    expect(() => core.sha256('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => core.sha256Many([new Uint8Array(1), null as unknown as Uint8Array])).toThrow(/input 1/);
  });
});

describe('core-wasm sha256Many (4-lane SIMD)', () => {
  it('matches node:crypto for 1..9 inputs of different lengths', () => {
    const rand = rng(5);
    for (let count = 0; count <= 9; count++) {
      for (let round = 0; round < 20; round++) {
        const inputs = Array.from({ length: count }, () => {
          const r = rand();
          const n = r < 0.3 ? (rand() * 130) | 0 : r < 0.6 ? 4096 + ((rand() * 5) | 0) - 2 : (rand() * 40_000) | 0;
          return randomBytes(rand, n);
        });
        const got = core.sha256Many(inputs).map(hex);
        expect(got, `count ${count} lengths ${inputs.map((d) => d.length)}`).toEqual(inputs.map(nodeSha));
      }
    }
  });

  it('handles equal lengths, padding that spills into an extra block, and inputs larger than a lane buffer', () => {
    const rand = rng(6);
    const cases = [
      [4096, 4096, 4096, 4096],
      [55, 56, 57, 63],
      [119, 120, 64, 0],
      [0, 0, 0, 0, 0],
      [16383, 16384, 16385, 70_000, 1_000_000, 999_999, 1_000_001, 1_000_000],
    ];
    for (const lengths of cases) {
      const inputs = lengths.map((n) => randomBytes(rand, n));
      expect(core.sha256Many(inputs).map(hex), `lengths ${lengths}`).toEqual(inputs.map(nodeSha));
    }
  });

  it('is exposed as wasmSimdSha256Many and wasmHashProvider', () => {
    const many = wasmSimdSha256Many(core);
    const inputs = [ascii('abc'), new Uint8Array(0), ascii('hello')];
    expect(many(inputs).map(hex)).toEqual(inputs.map(nodeSha));
    const provider = wasmHashProvider(core);
    expect(provider.name).toBe('wasm');
    expect(hex(provider.sha256(ascii('abc')))).toBe(NIST[1][2]);
    const s = provider.createSha256();
    s.update(ascii('ab'));
    s.update(ascii('c'));
    expect(hex(s.digest())).toBe(NIST[1][2]);
    expect(() => wasmHashProvider({} as Core)).toThrow(TypeError);
  });
});

// ---- treeDiff ----

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const byName = (x: string, y: string): number => Buffer.compare(utf8(x), utf8(y));

/** Naive reference: maps by name, union of names in byte order. */
function referenceDiff(a: TreeEntry[], b: TreeEntry[]): TreeDiffEntry[] {
  const ia = new Map(a.map((e, i) => [e.name, i]));
  const ib = new Map(b.map((e, i) => [e.name, i]));
  const names = [...new Set([...ia.keys(), ...ib.keys()])].sort(byName);
  const out: TreeDiffEntry[] = [];
  for (const name of names) {
    const i = ia.get(name);
    const j = ib.get(name);
    if (i === undefined) out.push({ kind: 'added', name, a: -1, b: j! });
    else if (j === undefined) out.push({ kind: 'removed', name, a: i, b: -1 });
    else if (hex(a[i].checksum) !== hex(b[j].checksum)) out.push({ kind: 'modified', name, a: i, b: j });
  }
  return out;
}

// Multi-byte characters make UTF-16 order differ from byte order (e.g. U+FF5E vs U+1F600).
const ALPHABET = ['a', 'b', 'z', 'A', '.', '-', '_', '0', 'é', '日', '～', '😀', 'ÿ'];

function randomName(rand: () => number): string {
  const n = 1 + ((rand() * 6) | 0);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[(rand() * ALPHABET.length) | 0];
  return s;
}

function randomTables(rand: () => number, size: number, checksumLength: number): [TreeEntry[], TreeEntry[]] {
  const names = new Set<string>();
  while (names.size < size) names.add(randomName(rand));
  const all = [...names].sort(byName);
  const a: TreeEntry[] = [];
  const b: TreeEntry[] = [];
  for (const name of all) {
    const checksum = randomBytes(rand, checksumLength);
    const r = rand();
    if (r < 0.15) a.push({ name, checksum });
    else if (r < 0.3) b.push({ name, checksum });
    else {
      a.push({ name, checksum });
      if (rand() < 0.3) {
        const changed = checksum.slice();
        changed[(rand() * checksumLength) | 0] ^= 1 + ((rand() * 255) | 0);
        b.push({ name, checksum: changed });
      } else b.push({ name, checksum: checksum.slice() });
    }
  }
  return [a, b];
}

describe('core-wasm treeDiff', () => {
  it('reports added, removed and modified entries in name order', () => {
    const c = (v: number): Uint8Array => new Uint8Array(32).fill(v);
    const a = [{ name: 'bin', checksum: c(1) }, { name: 'etc', checksum: c(2) }, { name: 'usr', checksum: c(3) }];
    const b = [{ name: 'boot', checksum: c(9) }, { name: 'etc', checksum: c(4) }, { name: 'usr', checksum: c(3) }];
    expect(core.treeDiff(a, b)).toEqual([
      { kind: 'removed', name: 'bin', a: 0, b: -1 },
      { kind: 'added', name: 'boot', a: -1, b: 0 },
      { kind: 'modified', name: 'etc', a: 1, b: 1 },
    ]);
    expect(core.treeDiff([], [])).toEqual([]);
    expect(core.treeDiff(a, [])).toEqual(a.map((e, i) => ({ kind: 'removed', name: e.name, a: i, b: -1 })));
    expect(core.treeDiff([], b)).toEqual(b.map((e, i) => ({ kind: 'added', name: e.name, a: -1, b: i })));
  });

  it('matches the naive reference on random tables (32- and 64-byte checksums, multi-byte names)', () => {
    const rand = rng(7);
    for (let round = 0; round < 200; round++) {
      const checksumLength = round % 2 === 0 ? 32 : 64;
      const [a, b] = randomTables(rand, (rand() * 60) | 0, checksumLength);
      expect(core.treeDiff(a, b), `round ${round}`).toEqual(referenceDiff(a, b));
    }
  });

  it('compares names by UTF-8 bytes, not UTF-16 code units', () => {
    // '～' (U+FF5E, bytes EF BD 9E) sorts before '😀' (U+1F600, F0 9F 98 80) by bytes,
    // but after it by UTF-16 code units (0xFF5E > 0xD83D).
    const cs = new Uint8Array(32);
    expect(core.treeDiff([{ name: '～', checksum: cs }, { name: '😀', checksum: cs }], [])).toHaveLength(2);
    expect(() => core.treeDiff([{ name: '😀', checksum: cs }, { name: '～', checksum: cs }], [])).toThrow(/table a is not sorted/);
  });

  it('grows WASM memory for large tables and keeps hashing correctly afterwards', () => {
    const fresh = loadCoreSync();
    const rand = rng(8);
    const mk = (i: number): TreeEntry => ({ name: `file-${String(i).padStart(7, '0')}-${'x'.repeat(40)}`, checksum: randomBytes(rand, 64) });
    const a = Array.from({ length: 60_000 }, (_, i) => mk(i * 2));
    const b = Array.from({ length: 60_000 }, (_, i) => mk(i * 2 + (i % 3 === 0 ? 1 : 0)));
    const got = fresh.treeDiff(a, b);
    expect(got).toEqual(referenceDiff(a, b));
    const msg = randomBytes(rand, 200_000);
    expect(hex(fresh.sha256(msg))).toBe(nodeSha(msg));
    expect(fresh.sha256Many([msg, msg]).map(hex)).toEqual([nodeSha(msg), nodeSha(msg)]);
  });

  it('rejects unsorted or duplicate names, bad checksum sizes and malformed entries', () => {
    const cs = new Uint8Array(32);
    expect(() => core.treeDiff([], [{ name: 'b', checksum: cs }, { name: 'a', checksum: cs }])).toThrow(/table b is not sorted/);
    expect(() => core.treeDiff([{ name: 'a', checksum: cs }, { name: 'a', checksum: cs }], [])).toThrow(/table a is not sorted/);
    expect(() => core.treeDiff([{ name: 'a', checksum: new Uint8Array(20) }], [])).toThrow(/32 or 64 bytes/);
    expect(() => core.treeDiff([{ name: 'a', checksum: cs }], [{ name: 'a', checksum: new Uint8Array(64) }])).toThrow(/other entries have 32/);
    expect(() => core.treeDiff([{ name: 1 } as unknown as TreeEntry], [])).toThrow(TypeError);
    expect(() => core.treeDiff(null as unknown as TreeEntry[], [])).toThrow(TypeError);
  });
});

describe('core-wasm loading', () => {
  const abc = NIST[1][2];

  it('embeds exactly the committed core.wasm', () => {
    const file = readFileSync(new URL('../../core-wasm/gen/core.wasm', import.meta.url));
    const bytes = wasmBytes();
    expect(Buffer.compare(Buffer.from(bytes), file)).toBe(0);
    expect(nodeSha(bytes)).toBe(WASM_SHA256);
  });

  it('loads from a precompiled WebAssembly.Module, sync and async', async () => {
    const module = new WebAssembly.Module(wasmBytes() as BufferSource);
    const a = await loadCore(module);
    const b = loadCoreSync(module);
    expect(hex(a.sha256(ascii('abc')))).toBe(abc);
    expect(hex(b.sha256(ascii('abc')))).toBe(abc);
  });

  it('loads from caller-supplied bytes and from the embedded default', async () => {
    expect(hex((await loadCore(wasmBytes())).sha256(ascii('abc')))).toBe(abc);
    expect(hex((await loadCore()).sha256(ascii('abc')))).toBe(abc);
    expect(hex(loadCoreSync(wasmBytes()).sha256(ascii('abc')))).toBe(abc);
  });

  it('instances do not share state', async () => {
    const x = await loadCore();
    const y = await loadCore();
    const sx = x.createSha256();
    const sy = y.createSha256();
    sx.update(ascii('ab'));
    sy.update(ascii('zz'));
    sx.update(ascii('c'));
    expect(hex(sx.digest())).toBe(abc);
    expect(hex(sy.digest())).toBe(nodeSha(ascii('zz')));
  });

  it('rejects bad sources', async () => {
    await expect(loadCore('core.wasm' as unknown as Uint8Array)).rejects.toThrow(TypeError);
    expect(() => loadCoreSync(new Uint8Array([0, 1, 2]))).toThrow();
    const notCore = new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    expect(() => loadCoreSync(notCore)).toThrow(/lacks export/);
  });
});
