// The parsers under fuzzing, one target per corpus folder of fixtures/fuzz/: GVariant decoding
// (the type picked by the seed's extension), object parsing (commit, dirtree, dirmeta, commitmeta,
// `.filez` and stream file headers, bare-user ostreemeta), summary parsing (as a pull reads it,
// and as `summary --view` prints it), delta superblocks (plain and signed), delta parts
// (decompression, payload, op stream), bspatch (the WASM core), xz decoding, and key files; the
// package half's parsers (RPM, cpio, rpm-md XML, .repo files, treefiles) come from rpm-targets.ts.

import { decode, isNormalForm } from '../../src/format/gvariant.ts';
import {
  COMMIT_TYPE,
  SUMMARY_TYPE,
  decodeCommit,
  decodeDirMeta,
  decodeDirTree,
  decodeOstreeMeta,
  parseArchiveHeader,
  parseFileStreamHeader,
} from '../../src/format/objects.ts';
import { KeyFile, KeyFileError } from '../../src/format/keyfile.ts';
import { parseSummary } from '../../src/pull/summary-fetch.ts';
import { formatSummaryView, summaryRefs } from '../../src/maintenance/summary.ts';
import { SUPERBLOCK_TYPE, isSignedSuperblock, parseSignedSuperblock, parseSuperblock } from '../../src/delta/superblock.ts';
import { PART_PAYLOAD_TYPE, decompressPart, parsePartPayload } from '../../src/delta/part.ts';
import { countOps } from '../../src/delta/execute.ts';
import { wasmXzDecoder } from '../../src/delta/xz.ts';
import { loadCoreSync } from '../../core-wasm/index.ts';
import type { FuzzTarget } from './harness.ts';
import { RPM_TARGETS } from './rpm-targets.ts';

/** Caps the fuzzed parsers get: far above the seeds, far below what hurts. */
const MAX_OUT = 4 << 20;

const TYPES: Record<string, string> = {
  commit: COMMIT_TYPE,
  dirtree: '(a(say)a(sayay))',
  dirmeta: '(uuua(ayay))',
  commitmeta: 'a{sv}',
  ostreemeta: '(uuua(ayay))',
  summary: SUMMARY_TYPE,
  superblock: SUPERBLOCK_TYPE,
  part: PART_PAYLOAD_TYPE,
};

const ext = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

const core = loadCoreSync();

export const TARGETS: FuzzTarget[] = [
  {
    name: 'gvariant',
    run(input, seedName) {
      const type = TYPES[ext(seedName)] ?? 'a{sv}';
      decode(type, input, { context: seedName });
      isNormalForm(type, input);
      decode(type, input, { bigEndian: true });
    },
  },
  {
    name: 'objects',
    run(input, seedName) {
      switch (ext(seedName)) {
        case 'commit':
          return decodeCommit(input);
        case 'dirtree':
          return decodeDirTree(input);
        case 'dirmeta':
          return decodeDirMeta(input);
        case 'ostreemeta':
          return decodeOstreeMeta(input);
        case 'filez':
          return parseArchiveHeader(input);
        case 'file-header':
          return parseFileStreamHeader(input);
        default:
          return decode('a{sv}', input, { context: 'commitmeta' });
      }
    },
  },
  {
    name: 'summary',
    run(input) {
      parseSummary(input);
      summaryRefs(input);
      formatSummaryView(input);
    },
  },
  {
    name: 'superblock',
    run(input) {
      if (isSignedSuperblock(input)) {
        const s = parseSignedSuperblock(input);
        parseSuperblock(s.superblockBytes);
      } else parseSuperblock(input);
    },
  },
  {
    name: 'delta-part',
    async run(input) {
      const payload = await decompressPart(input, MAX_OUT, wasmXzDecoder);
      const p = parsePartPayload(payload);
      countOps(p.ops, []);
    },
  },
  {
    name: 'bspatch',
    run(input) {
      // [u32 newSize LE][u32 oldLen LE][old][patch]; sizes clamped to what the input holds / MAX_OUT.
      if (input.length < 8) return;
      const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
      const newSize = Math.min(dv.getUint32(0, true), MAX_OUT);
      const oldLen = Math.min(dv.getUint32(4, true), input.length - 8);
      core.bspatch(input.subarray(8, 8 + oldLen), input.subarray(8 + oldLen), newSize);
    },
    // core-wasm sits below src/ (no XylemError there): its refusals are Errors named "bspatch: …",
    // which the delta engine turns into CorruptionError. A trap (WebAssembly.RuntimeError) is not one.
    accept: (e) => e?.constructor === Error && /^bspatch: /.test((e as Error).message),
  },
  {
    name: 'xz',
    async run(input) {
      await wasmXzDecoder.decompress(input, MAX_OUT);
    },
  },
  {
    name: 'keyfile',
    tokens: ['[', ']', '=', '\\', '\\s', '\\n', '\\x', '\n', ';', '#', ' ', '[a b]', 'k[de]=v', 'ü', '\0', '\r\n', '\u2028', 'true', '-1', '99999999999999999999'],
    run(input) {
      const kf = KeyFile.parseBytes(input, 'fuzz');
      for (const g of kf.groups()) {
        for (const k of kf.keys(g)) {
          kf.get(g, k);
          kf.getStringList(g, k);
          try {
            kf.getBoolean(g, k);
          } catch (e) {
            if (!(e instanceof KeyFileError)) throw e;
          }
          try {
            kf.getInteger(g, k);
          } catch (e) {
            if (!(e instanceof KeyFileError)) throw e;
          }
        }
      }
      KeyFile.parse(kf.toString(), 'fuzz round trip');
    },
  },
  ...RPM_TARGETS,
];
