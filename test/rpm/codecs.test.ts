// The payload decoders written for rpm (bzip2.ts, lzma.ts + xz.ts) against the real compressors:
// data compressed by bzip2 and xz (every check type rpm or xz uses, presets from -0 to -9e, the
// legacy .lzma format) must decode to the original bytes whether fed whole or in odd-sized slices;
// damaged streams are refused with RpmError (CRC/check mismatches, truncation).

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Bzip2Decoder } from '../../src/rpm/bzip2.ts';
import { RpmError } from '../../src/rpm/errors.ts';
import { LzmaAloneDecoder, XzDecoder } from '../../src/rpm/xz.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { pseudoRandom } from '../helpers/pseudo-random.ts';

type Make = (sink: (b: Uint8Array) => void) => { push(c: Uint8Array, f: boolean): void; pending?(): boolean; drain?(limit: number): void };

function decode(make: Make, c: Uint8Array, slice: number): Buffer {
  const parts: Uint8Array[] = [];
  const d = make((b) => parts.push(b.slice()));
  const drain = () => {
    while (d.pending?.()) d.drain!(1 << 20);
  };
  if (c.length === 0) d.push(c, true);
  for (let o = 0; o < c.length; o += slice) {
    d.push(c.subarray(o, Math.min(c.length, o + slice)), o + slice >= c.length);
    drain();
  }
  drain();
  return Buffer.concat(parts);
}

const text = Buffer.from(Array.from({ length: 40000 }, (_, i) => `line ${i % 977} ${'ab'.repeat(i % 7)} ${(i * 7) % 13}\n`).join(''));
const INPUTS: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from('a')],
  ['long runs', Buffer.concat([Buffer.alloc(1_500_000, 7), Buffer.alloc(3, 1), Buffer.alloc(300, 2)])],
  ['random', pseudoRandom(5, 400_000)],
  ['text', text],
];

const bz: Make = (sink) => new Bzip2Decoder(sink, 'fixture.rpm');
const xz: Make = (sink) => new XzDecoder(sink, 'fixture.rpm', 1e9);
const lzma: Make = (sink) => new LzmaAloneDecoder(sink, 'fixture.rpm', 1e9);

describe.skipIf(missing('bzip2 decoder', { bzip2: hasCommand('bzip2') }))('bzip2 decoder vs bzip2(1)', () => {
  for (const [name, data] of INPUTS)
    for (const level of ['-1', '-9'])
      it(`${name} ${level}`, () => {
        const c = execFileSync('bzip2', ['-c', level], { input: data, maxBuffer: 1 << 30 });
        for (const slice of [1 << 20, 4099]) expect(decode(bz, c, slice).equals(data)).toBe(true);
      });
  it('concatenated streams', () => {
    const c = Buffer.concat([execFileSync('bzip2', ['-c'], { input: 'hello ' }), execFileSync('bzip2', ['-c'], { input: 'world' })]);
    expect(decode(bz, c, 7).toString()).toBe('hello world');
  });
  it('a flipped bit, a truncation: RpmError', () => {
    const c = execFileSync('bzip2', ['-c'], { input: text });
    for (const at of [20, 200, Math.floor(c.length / 2), c.length - 3]) {
      const bad = Buffer.from(c);
      bad[at] ^= 0x10;
      expect(() => decode(bz, bad, 1 << 20), `bit at ${at}`).toThrow(RpmError);
    }
    expect(() => decode(bz, c.subarray(0, c.length - 5), 1 << 20)).toThrow(/truncated/);
  });
});

describe.skipIf(missing('xz decoder', { xz: hasCommand('xz') }))('xz and lzma decoders vs xz(1)', () => {
  const presets: [string, string[], Make][] = [
    ['xz -0', ['-0'], xz],
    ['xz -6 sha256 (rpm)', ['-6', '--check=sha256'], xz],
    ['xz -9e crc32', ['-9e', '--check=crc32'], xz],
    ['xz crc64', ['--check=crc64'], xz],
    ['xz no check', ['--check=none'], xz],
    ['xz two blocks', ['--block-size=100000'], xz],
    ['lzma', ['--format=lzma'], lzma],
  ];
  for (const [name, data] of INPUTS)
    for (const [label, args, make] of presets)
      it(`${name}, ${label}`, () => {
        const c = execFileSync('xz', ['-c', ...args], { input: data, maxBuffer: 1 << 30 });
        for (const slice of [1 << 20, 4093]) expect(decode(make, c, slice).equals(data)).toBe(true);
      });
  it('concatenated xz streams with stream padding', () => {
    const c = Buffer.concat([execFileSync('xz', ['-c'], { input: 'hello ' }), Buffer.alloc(8), execFileSync('xz', ['-c'], { input: 'world' })]);
    expect(decode(xz, c, 5).toString()).toBe('hello world');
  });
  it('a flipped bit, a truncation: RpmError', () => {
    const c = execFileSync('xz', ['-c', '--check=sha256'], { input: text });
    for (const at of [8, 14, 30, Math.floor(c.length / 2), c.length - 40, c.length - 6]) {
      const bad = Buffer.from(c);
      bad[at] ^= 0x04;
      expect(() => decode(xz, bad, 1 << 20), `bit at ${at}`).toThrow(RpmError);
    }
    expect(() => decode(xz, c.subarray(0, c.length - 5), 1 << 20)).toThrow(/truncated/);
  });
});
