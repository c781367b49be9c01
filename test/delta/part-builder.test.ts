// PartBuilder frames the part payload `(a(uuu)aa(ayay)ayay)` by hand, in place in its blob buffer
// (src/delta/part-builder.ts); the result must be byte for byte what the generic GVariant encoder
// (checked against GLib elsewhere) makes of the same tables, blob and ops — in every framing-offset
// width (1, 2 and 4 bytes) and when the tables outgrow the room kept for them in front of the blob.

import { describe, expect, it } from 'vitest';
import { ObjectType, type FileHeader } from '../../src/format/objects.ts';
import { PartBuilder } from '../../src/delta/part-builder.ts';
import { parsePartPayload } from '../../src/delta/part.ts';
import { parsePartObjects } from '../../src/delta/superblock.ts';
import { pseudoRandom } from '../helpers/pseudo-random.ts';

const hex = (seed: number): string => Buffer.from(pseudoRandom(seed, 32)).toString('hex');

function header(i: number, distinctXattrs: boolean): FileHeader {
  const xattrs = distinctXattrs ? [{ name: 'user.n', value: pseudoRandom(1000 + i, 200) }] : i % 3 === 0 ? [{ name: 'security.selinux', value: new TextEncoder().encode('system_u:object_r:usr_t:s0\0') }] : [];
  return { uid: i % 2, gid: i % 5, mode: 0o100000 | (i % 2 ? 0o644 : 0o755), rdev: 0, symlinkTarget: '', xattrs };
}

function build(objects: number, objectSize: number, distinctXattrs = false): PartBuilder {
  const p = new PartBuilder(objectSize < 1000 ? 0 : 1 << 20);
  for (let i = 0; i < objects; i++) {
    if (i % 7 === 3) p.addMetadata(ObjectType.DirTree, hex(i), pseudoRandom(i, 50));
    else if (i % 11 === 5) p.addBsdiff(hex(i), header(i, distinctXattrs), 1234, hex(i + 1), pseudoRandom(i, 300));
    else if (i % 13 === 6) p.addRollsum(hex(i), header(i, distinctXattrs), 900, hex(i + 2), [{ from: 0, length: 100 }, { data: pseudoRandom(i, 80) }, { from: 300, length: 20 }]);
    else p.addContent(hex(i), header(i, distinctXattrs), pseudoRandom(i, objectSize + (i % 17)));
  }
  return p;
}

describe('PartBuilder.payload', () => {
  const cases: Array<[string, number, number, boolean]> = [
    ['empty part', 0, 0, false],
    ['1-byte offsets', 3, 10, false],
    ['2-byte offsets', 40, 500, false],
    ['4-byte offsets, blob grown past its reservation', 300, 5000, false],
    ['tables larger than the room in front of the blob', 600, 100, true],
  ];
  for (const [name, objects, size, distinct] of cases) {
    it(name, () => {
      const ref = build(objects, size, distinct).payloadReference();
      const p = build(objects, size, distinct);
      const objectsPacked = p.packedObjects();
      const got = p.payload();
      expect(got.length).toBe(ref.length);
      expect(Buffer.from(got).equals(Buffer.from(ref))).toBe(true);
      // and it reads back: the object list too
      const parsed = parsePartPayload(got);
      expect(parsed.ops.length).toBeGreaterThanOrEqual(objects > 0 ? objects : 0);
      const list = parsePartObjects(objectsPacked);
      expect(list.length).toBe(objects);
      if (objects > 0) expect(list[0]!.checksum).toBe(hex(0));
    });
  }

  it('refuses a bad checksum', () => {
    expect(() => new PartBuilder().addMetadata(ObjectType.DirTree, 'zz'.repeat(32), new Uint8Array(1))).toThrow(/invalid checksum/);
  });
});
