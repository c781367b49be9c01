// installedHeader against rpm 4.18 itself: for every fixture package (signed, relocatable, without
// files, rich deps, triggers…) the blob xylem builds is byte-for-byte the blob `rpm -i --justdb`
// stored in Packages, given the same install time and tid. Plus the header codec's refusals of
// hostile blobs, and the rich-dependency leaf keys against the Requirename/… rows rpm wrote.

import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_RPMBUILD, HAVE_RPMSIGN, hasCommand } from '../helpers/rpmbuild.ts';
import { HeaderBlob } from '../../src/rpmdb/header-blob.ts';
import { appendDribbles, encodeHeader, int32Value, stringArrayValue, stringValue } from '../../src/rpmdb/header-writer.ts';
import { installedHeader } from '../../src/rpmdb/installed-header.ts';
import { readRpmHeadersFromBytes } from '../../src/rpmdb/rpm-file.ts';
import { richLeafKeys } from '../../src/rpmdb/rich-leaves.ts';
import { buildFixtureSet, PACKAGES, readBytes, rpmBlob, SIGNED, sqlite } from './fixtures.ts';
import type { FixtureSet } from './fixtures.ts';

const TOOLS = { rpmbuild: HAVE_RPMBUILD, rpmsign: HAVE_RPMSIGN, sqlite3: hasCommand('sqlite3') };

describe.skipIf(missing('installed headers against rpm --justdb', TOOLS))('installed header blobs (oracle: rpm 4.18 --justdb)', () => {
  let fx: FixtureSet;
  const dbFile = (): string => join(fx.rpmRoot, 'usr/share/rpm/rpmdb.sqlite');
  beforeAll(() => {
    fx = buildFixtureSet();
  }, 120_000);

  for (const p of PACKAGES) {
    it(`${p.name}: byte-identical to the blob rpm stored`, async () => {
      const theirs = rpmBlob(dbFile(), p.name);
      const th = HeaderBlob.parse(theirs, `rpm's ${p.name}`);
      const pkg = await readRpmHeadersFromBytes(readBytes(fx.rpms.get(p.name)!), p.name);
      const mine = installedHeader(pkg, { installTime: th.uint32(1008)!, tid: th.uint32(1128)! });
      expect(Buffer.from(mine).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
    });
  }

  it('the signed package carries its RSA header signature (268) as a dribble, the relocatable one INSTPREFIXES', async () => {
    const signed = HeaderBlob.parse(rpmBlob(dbFile(), SIGNED), 'signed');
    expect(signed.bin(268)?.length).toBeGreaterThan(100);
    const reloc = HeaderBlob.parse(rpmBlob(dbFile(), 'reloc'), 'reloc');
    expect(reloc.strings(1099)).toEqual(['/opt/reloc']);
    const meta = HeaderBlob.parse(rpmBlob(dbFile(), 'meta'), 'meta');
    expect(meta.has(1029)).toBe(false);
  });

  it('rich dependency leaf keys are the rows rpm indexed after each rich string', () => {
    for (const table of ['Requirename', 'Conflictname', 'Recommendname', 'Suggestname', 'Supplementname']) {
      const rows = sqlite(dbFile(), `SELECT key, hnum, idx FROM '${table}' ORDER BY rowid`)
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('|'));
      for (let i = 0; i < rows.length; i++) {
        const [key, hnum, idx] = rows[i]!;
        if (!key!.startsWith('(')) continue;
        const leaves = richLeafKeys(key!);
        const following = rows.slice(i + 1, i + 1 + leaves.length).map((r) => (r[1] === hnum && r[2] === idx ? r[0] : '?'));
        expect(following, `${table} ${key}`).toEqual(leaves);
      }
    }
    expect(richLeafKeys('(delta if beta else epsilon)')).toEqual(['beta', 'delta', 'epsilon', '!beta']);
  });
});

describe('header codec refusals (hostile blobs)', () => {
  const good = encodeHeader([stringValue(1000, 'x'), int32Value(1008, [5]), stringArrayValue(1117, ['a', 'b'])], { regionTag: 63 });

  it('a well-formed blob parses and a dribble round-trips', () => {
    const h = HeaderBlob.parse(good, 'good', { exactRegion: true });
    expect(h.string(1000)).toBe('x');
    const more = HeaderBlob.parse(appendDribbles(h, [int32Value(1128, [7])]), 'more');
    expect(more.uint32(1128)).toBe(7);
    expect(more.regionEntries).toBe(4);
  });

  it('refuses lying sizes, counts and offsets', () => {
    const lie = (f: (dv: DataView) => void): Uint8Array => {
      const b = good.slice();
      f(new DataView(b.buffer));
      return b;
    };
    const cases: [string, Uint8Array][] = [
      ['data size larger than the blob', lie((dv) => dv.setUint32(4, dv.getUint32(4) + 8))],
      ['index count larger than the blob', lie((dv) => dv.setUint32(0, 9))],
      ['huge index count', lie((dv) => dv.setUint32(0, 0x7fffffff))],
      ['string count past the data', lie((dv) => dv.setUint32(8 + 16 * 3 + 12, 5000))],
      ['offset past the data', lie((dv) => dv.setInt32(8 + 16 * 1 + 8, 4000))],
      ['misaligned INT32', lie((dv) => dv.setInt32(8 + 16 * 2 + 8, dv.getInt32(8 + 16 * 2 + 8) + 1))],
      ['region trailer pointing elsewhere', lie((dv) => dv.setInt32(8 + 16 * 0 + 8, 0))],
      ['unknown type', lie((dv) => dv.setUint32(8 + 16 * 1 + 4, 42))],
      ['truncated', good.subarray(0, good.length - 1)],
    ];
    for (const [why, blob] of cases) expect(() => HeaderBlob.parse(blob, why), why).toThrow(/bad rpm header/);
  });
});
