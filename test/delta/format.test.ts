// Static-delta building blocks against independent oracles: varints (protobuf's documented
// vectors), the store-only xz encoder (decoded by the system `xz` and by xz-decompress), bsdiff/
// bspatch round trips and hostile patches, bupsplit chunks (CRC-32 vs node:zlib), delta paths
// (vs the folders real ostree creates), superblock encode/parse in both byte orders.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCoreSync } from '../../core-wasm/index.ts';
import { readVarint, writeVarint } from '../../src/delta/varint.ts';
import { lzma2XzEncoder, wasmXzDecoder, xzStore } from '../../src/delta/xz.ts';
import { readFileSync } from 'node:fs';
import { deltaNameFromDirs, deltaRelDir, parseDeltaName } from '../../src/delta/paths.ts';
import { encodeSuperblock, parseSuperblock, encodeSignedSuperblock, parseSignedSuperblock, isSignedSuperblock } from '../../src/delta/superblock.ts';
import { ObjectType, encodeCommit } from '../../src/format/objects.ts';
import { TempDir, OSTREE, initRepo, run } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';

const core = loadCoreSync();

describe('varint', () => {
  it('encodes and decodes protobuf vectors', () => {
    for (const [v, bytes] of [
      [0, [0]],
      [1, [1]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [150, [0x96, 0x01]],
      [300, [0xac, 0x02]],
      [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
    ] as Array<[number, number[]]>) {
      const out: number[] = [];
      writeVarint(out, v);
      expect(out).toEqual(bytes);
      expect(readVarint({ data: new Uint8Array(bytes), pos: 0 })).toBe(v);
    }
  });
  it('rejects truncated, overlong and out-of-range varints', () => {
    expect(() => readVarint({ data: new Uint8Array([0x80]), pos: 0 })).toThrow(/truncated/);
    expect(() => readVarint({ data: new Uint8Array(11).fill(0x80), pos: 0 })).toThrow(/out of range|longer/);
    expect(() => readVarint({ data: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), pos: 0 })).toThrow(/out of range/);
  });
});

describe('xz store encoder', () => {
  for (const size of [0, 1, 65535, 65536, 65537, 300_001]) {
    it(`${size} bytes: system xz and xz-decompress both decode it`, async () => {
      const data = randomBytes(size);
      const x = xzStore(data);
      const r = spawnSync('xz', ['-d', '-c'], { input: x, maxBuffer: 64 << 20 });
      expect(r.status, r.stderr?.toString()).toBe(0);
      expect(Buffer.compare(r.stdout, data)).toBe(0);
      const y = await wasmXzDecoder.decompress(x, size);
      expect(Buffer.compare(Buffer.from(y), data)).toBe(0);
    });
  }
  it('the decoder caps output and rejects garbage', async () => {
    await expect(wasmXzDecoder.decompress(xzStore(new Uint8Array(1000)), 999)).rejects.toThrow(/more than/);
    await expect(wasmXzDecoder.decompress(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 100)).rejects.toThrow(/Invalid xz/);
    const x = xzStore(randomBytes(5000));
    await expect(wasmXzDecoder.decompress(x.subarray(0, x.length - 30), 10000)).rejects.toThrow(/Invalid xz/);
  });
});

describe('LZMA2 encoder', () => {
  const inputs: Array<[string, () => Uint8Array]> = [
    ['empty', () => new Uint8Array(0)],
    ['one byte', () => new Uint8Array([65])],
    ['zeros (one long rep run)', () => new Uint8Array(3_000_000)],
    ['text', () => readFileSync(join(import.meta.dirname, 'format.test.ts'))],
    ['random (stored chunks)', () => randomBytes(200_000)],
    ['mixed: text, random, repeats across chunk boundaries', () => {
      const t = readFileSync(join(import.meta.dirname, 'format.test.ts'));
      return Buffer.concat([t, randomBytes(70_000), t, new Uint8Array(5000), t, randomBytes(10), t]);
    }],
  ];
  for (const [name, make] of inputs) {
    it(`${name}: system xz and xz-decompress decode it; deterministic`, async () => {
      const data = make();
      const x = await lzma2XzEncoder.compress(data);
      const r = spawnSync('xz', ['-d', '-c'], { input: x, maxBuffer: 64 << 20 });
      expect(r.status, r.stderr?.toString()).toBe(0);
      expect(Buffer.compare(r.stdout, Buffer.from(data))).toBe(0);
      expect(Buffer.compare(Buffer.from(await wasmXzDecoder.decompress(x, data.length)), Buffer.from(data))).toBe(0);
      expect(Buffer.compare(Buffer.from(await lzma2XzEncoder.compress(data)), Buffer.from(x))).toBe(0);
      const ref = spawnSync('xz', ['-6', '-c'], { input: data, maxBuffer: 64 << 20 }).stdout.length;
      expect(x.length).toBeLessThan(ref * 1.5 + 64);
    });
  }
});

describe('bsdiff / bspatch (core-wasm)', () => {
  const cases: Array<[string, Uint8Array, Uint8Array]> = [];
  const base = randomBytes(100_000);
  cases.push(['insertion', base, Buffer.concat([base.subarray(0, 50_000), randomBytes(333), base.subarray(50_000)])]);
  const edited = Buffer.from(base);
  for (let i = 0; i < 50; i++) edited[(i * 1999) % edited.length] ^= 0x55;
  cases.push(['scattered edits', base, edited]);
  cases.push(['from empty', new Uint8Array(0), randomBytes(1000)]);
  cases.push(['to empty', randomBytes(1000), new Uint8Array(0)]);
  cases.push(['zeros', new Uint8Array(50_000), Buffer.concat([new Uint8Array(10), Buffer.from([1]), new Uint8Array(50_000)])]);
  cases.push(['unrelated', randomBytes(3000), randomBytes(5000)]);
  for (const [name, a, b] of cases) {
    it(`round trip: ${name}`, () => {
      const patch = core.bsdiff(a, b);
      expect(Buffer.compare(Buffer.from(core.bspatch(a, patch, b.length)), Buffer.from(b))).toBe(0);
    });
  }
  it('a similar file gives a patch that compresses far below the new size', () => {
    const patch = core.bsdiff(cases[1]![1], cases[1]![2]);
    const r = spawnSync('xz', ['-c'], { input: patch });
    expect(r.stdout.length).toBeLessThan(2000);
  });
  it('rejects truncated patches, negative lengths and writes past the new size', () => {
    const ctl = (x: bigint, y: bigint, z: bigint) => {
      const o = Buffer.alloc(24);
      o.writeBigUInt64LE(x, 0);
      o.writeBigUInt64LE(y, 8);
      o.writeBigUInt64LE(z, 16);
      return o;
    };
    const old = randomBytes(100);
    expect(() => core.bspatch(old, new Uint8Array(10), 5)).toThrow(/truncated/);
    expect(() => core.bspatch(old, ctl(1n << 63n | 1n, 0n, 0n), 5)).toThrow(/invalid control/);
    expect(() => core.bspatch(old, Buffer.concat([ctl(10n, 0n, 0n), Buffer.alloc(10)]), 5)).toThrow(/past the end/);
    expect(() => core.bspatch(old, Buffer.concat([ctl(1n << 62n, 0n, 0n)]), 5)).toThrow(/invalid control/);
    // reads of the old file outside its bounds are not reads: those bytes count as zero
    const far = Buffer.concat([ctl(4n, 0n, 0n), Buffer.from([1, 2, 3, 4])]);
    expect([...core.bspatch(new Uint8Array(0), far, 4)]).toEqual([1, 2, 3, 4]);
  });
});

describe('rollsum chunks (core-wasm)', () => {
  it('chunks cover the input, are at most 32 KiB, carry zlib CRC-32s, and resynchronise after an insertion', () => {
    const data = randomBytes(500_000);
    const c = core.rollsumChunks(data);
    let off = 0;
    for (let i = 0; i < c.lengths.length; i++) {
      const len = c.lengths[i]!;
      expect(len).toBeGreaterThan(0);
      expect(len).toBeLessThanOrEqual(32768);
      expect(c.crcs[i]).toBe(crc32(data.subarray(off, off + len)));
      off += len;
    }
    expect(off).toBe(data.length);
    const shifted = core.rollsumChunks(Buffer.concat([Buffer.from('xyz'), data]));
    const set = new Set(c.crcs);
    const shared = [...shifted.crcs].filter((x) => set.has(x)).length;
    expect(shared).toBeGreaterThanOrEqual(c.crcs.length - 2);
    // zeros: no split points, so the cap applies
    expect([...core.rollsumChunks(new Uint8Array(70000)).lengths]).toEqual([32768, 32768, 4464]);
  });
});

describe('superblock', () => {
  const commit = encodeCommit({
    metadata: [],
    parent: null,
    related: [],
    subject: 's',
    body: '',
    timestamp: 1700000000n,
    rootTree: 'aa'.repeat(32),
    rootMeta: 'bb'.repeat(32),
  });
  for (const endianness of ['little', 'big'] as const) {
    it(`round trips with ${endianness}-endian sizes`, () => {
      const sb = encodeSuperblock({
        metadata: [],
        timestamp: 1700000000n,
        from: null,
        to: 'cc'.repeat(32),
        commitBytes: commit,
        parts: [{ version: 0, checksum: new Uint8Array(32).fill(1), size: 1234, usize: 5678, objects: [{ type: ObjectType.DirTree, checksum: 'dd'.repeat(32) }] }],
        fallbacks: [{ type: ObjectType.File, checksum: 'ee'.repeat(32), size: 10, usize: 20 }],
        endianness,
      });
      const p = parseSuperblock(sb);
      expect(p.endianness).toBe(endianness);
      expect(p.endiannessGuessed).toBe(false);
      expect(p.parts[0]!.size).toBe(1234);
      expect(p.parts[0]!.usize).toBe(5678);
      expect(p.fallbacks[0]!.usize).toBe(20);
      expect(p.timestamp).toBe(1700000000n);
      expect(Buffer.compare(Buffer.from(p.commitBytes), Buffer.from(commit))).toBe(0);
      const signed = encodeSignedSuperblock(sb, [['ostree.sign.dummy', { type: 'aay', value: [new Uint8Array([1, 2])] }]]);
      expect(Buffer.from(signed.subarray(0, 8)).toString('latin1')).toBe('OSTSGNDT');
      expect(isSignedSuperblock(signed)).toBe(true);
      expect(Buffer.compare(Buffer.from(parseSignedSuperblock(signed).superblockBytes), Buffer.from(sb))).toBe(0);
    });
  }
  it('rejects bad object types and object lists of the wrong length', () => {
    const mk = (objType: number) =>
      encodeSuperblock({
        metadata: [],
        timestamp: 0n,
        from: null,
        to: 'cc'.repeat(32),
        commitBytes: commit,
        parts: [{ version: 0, checksum: new Uint8Array(32), size: 1, usize: 1, objects: [{ type: objType as ObjectType, checksum: 'dd'.repeat(32) }] }],
        fallbacks: [],
      });
    expect(() => parseSuperblock(mk(ObjectType.Commit))).toThrow(/invalid object type 4/);
    expect(() => parseSuperblock(mk(9))).toThrow(/invalid object type 9/);
  });
});

describe.skipIf(missing('delta paths', { 'the real ostree': !!OSTREE }))('delta paths', () => {
  const tmp = new TempDir('xylem-delta-paths-');
  afterAll(() => tmp.cleanup());
  it('match the folders ostree creates, both ways', () => {
    const repo = initRepo('ostree', tmp.join('repo'), 'archive');
    const tree = tmp.join('t');
    mkdirSync(tree);
    const revs: string[] = [];
    for (let i = 0; i < 6; i++) {
      writeFileSync(join(tree, 'f'), `v${i}`);
      revs.push(run('ostree', [`--repo=${repo}`, 'commit', '-b', 'm', `--tree=dir=${tree}`]));
    }
    const expected = new Set<string>();
    for (let i = 1; i < revs.length; i++) {
      run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', `--from=${revs[i - 1]}`, `--to=${revs[i]}`]);
      run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', '--empty', `--to=${revs[i]}`]);
      expected.add(deltaRelDir(revs[i - 1]!, revs[i]!));
      expected.add(deltaRelDir(null, revs[i]!));
    }
    const actual = new Set<string>();
    for (const p of readdirSync(join(repo, 'deltas'))) {
      for (const d of readdirSync(join(repo, 'deltas', p))) {
        actual.add(`deltas/${p}/${d}`);
        const name = deltaNameFromDirs(p, d)!;
        expect(deltaRelDir(name.from, name.to)).toBe(`deltas/${p}/${d}`);
      }
    }
    expect(actual).toEqual(expected);
    expect(() => parseDeltaName('GARBAGE')).toThrow(/Invalid rev GARBAGE/);
  });
});
