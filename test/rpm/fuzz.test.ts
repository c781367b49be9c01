// A seeded fuzzer for the RPM reader: real packages (one per payload compressor, built by rpmbuild)
// mutated thousands of times by a deterministic PRNG — bit flips, random bytes, "interesting"
// 32-bit values written over index entries and intro fields, truncations, duplicated and removed
// spans, concentrated on the headers or on the payload. Every mutant goes through parseRpm, every
// typed view and the whole payload walk; the only error allowed is XylemError (never RangeError,
// TypeError…), no mutant may take long, and memory must stay flat.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openRpm, parseRpm, verifyRpm } from '../../src/rpm/index.ts';
import { XylemError } from '../../src/util/errors.ts';
import { HAVE_RPMBUILD } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { XorShift32 } from '../helpers/pseudo-random.ts';
import { built, everythingPackage, PAYLOADS } from './fixtures.ts';


const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 15, 16, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x0fffffff, 0x10000000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

function mutate(src: Uint8Array, rng: XorShift32, lo: number, hi: number): Uint8Array {
  let b = src.slice();
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    if (b.length === 0) break;
    const at = Math.min(b.length - 1, lo + rng.int(Math.max(1, hi - lo)));
    switch (rng.int(7)) {
      case 0:
        b[at] ^= 1 << rng.int(8);
        break;
      case 1:
        b[at] = rng.int(256);
        break;
      case 2: {
        const v = INTERESTING[rng.int(INTERESTING.length)]!;
        const p = at & ~3;
        if (p + 4 <= b.length) {
          b[p] = v >>> 24;
          b[p + 1] = (v >>> 16) & 255;
          b[p + 2] = (v >>> 8) & 255;
          b[p + 3] = v & 255;
        }
        break;
      }
      case 3:
        b = b.subarray(0, at);
        break;
      case 4: {
        // duplicate a span
        const len = 1 + rng.int(64);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      case 5:
        // remove a span
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(64))]);
        break;
      default:
        // zero a byte (string terminators, counts)
        b[at] = 0;
    }
  }
  return new Uint8Array(b);
}

/** Everything a consumer could ask of a package, payload included. */
async function exercise(b: Uint8Array): Promise<void> {
  const pkg = parseRpm(b, 'fuzzed.rpm');
  pkg.info();
  pkg.dependencies();
  pkg.files();
  pkg.scripts();
  pkg.triggers();
  pkg.fileTriggers();
  pkg.transFileTriggers();
  pkg.changelog();
  for (const t of pkg.header.tags()) pkg.header.get(t);
  for (const t of pkg.signature.tags()) pkg.signature.get(t);
  for await (const e of pkg.entries()) for await (const _ of e.data);
}

describe.skipIf(missing('rpm fuzzing', { rpmbuild: HAVE_RPMBUILD }))('seeded fuzzing of the RPM reader', () => {
  for (const payload of PAYLOADS) {
    it(`${payload}: only XylemError, quickly, in flat memory`, async () => {
      const good = new Uint8Array(readFileSync(built(everythingPackage(payload, 'x86_64', 40))));
      const { headerEnd } = parseRpm(good, 'x').layout;
      await exercise(good); // the unmutated package passes
      const rng = new XorShift32(0x5eed + payload.length * 7919);
      const iterations = payload === 'w9.gzdio' ? 2000 : 500;
      const bad: string[] = [];
      let refused = 0;
      let slowest = 0;
      const rss0 = process.memoryUsage().rss;
      const started = Date.now();
      for (let i = 0; i < iterations; i++) {
        // 3 in 4 mutants damage the headers, 1 in 4 the payload
        const onHeader = rng.int(4) !== 0;
        const m = onHeader ? mutate(good, rng, 0, headerEnd) : mutate(good, rng, headerEnd, good.length);
        const t = Date.now();
        try {
          await exercise(m);
          if (i % 8 === 0) {
            // the streamed path (openRpm over a positional source) and the signature/digest checks
            const pkg = await openRpm({ read: async (pos: number, len: number) => m.subarray(pos, pos + len) }, 'fuzzed.rpm');
            await verifyRpm(pkg, { headerOnly: i % 16 === 0 });
          }
        } catch (e) {
          refused++;
          if (!(e instanceof XylemError)) bad.push(`#${i}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
        }
        slowest = Math.max(slowest, Date.now() - t);
      }
      const elapsed = Date.now() - started;
      expect(bad.slice(0, 3)).toEqual([]);
      expect(refused).toBeGreaterThan(iterations / 2);
      expect(slowest).toBeLessThan(5000);
      expect(process.memoryUsage().rss - rss0).toBeLessThan(300 * 1024 * 1024);
      console.log(`${payload}: ${iterations} mutants, ${refused} refused, ${elapsed} ms, slowest ${slowest} ms`);
    });
  }
});
