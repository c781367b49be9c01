// Hostile static deltas are refused with a clear error and leave the repository unchanged: part
// data offsets past the end, sizes that lie (part file size, part usize, object size, an xz bomb),
// a write reading past its read source, a bspatch that reads far outside the old file
// or writes out of bounds, a superblock naming a different commit than it carries, broken op
// streams, truncated superblocks. The deltas are built by hand with the format encoders on top
// of a repository written by the real ostree.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, describeInterop, initRepo, ostree, ostreeFsck, run } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { ObjectType, encodeDirMeta } from '../../src/format/objects.ts';
import { applyDeltaOffline } from '../../src/delta/apply.ts';
import { compressPart, encodePartPayload, COMPRESSION_XZ, type PartMode } from '../../src/delta/part.ts';
import { encodeSuperblock, parseSuperblock, type DeltaObjectRef, type PartHeader } from '../../src/delta/superblock.ts';
import { storeXzEncoder } from '../../src/delta/xz.ts';
import { deltaRelDir } from '../../src/delta/paths.ts';
import { fromHex, toHex } from '../../src/util/bytes.ts';
import { createHash } from 'node:crypto';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

function varints(...ns: number[]): number[] {
  const out: number[] = [];
  for (let v of ns) {
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
  }
  return out;
}

describeInterop('static deltas: hostile input', () => {
  vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
  let tmp: TempDir;
  let src: string;
  let a: string;
  let b: string;
  let commitB: Uint8Array;
  let sourceFile: string;
  let newFile: string;
  let n = 0;
  const host = createNodeHost();

  beforeAll(() => {
    tmp = new TempDir('xylem-delta-hostile-');
    const t = tmp.join('tree');
    mkdirSync(t);
    writeFileSync(join(t, 'data.bin'), Buffer.alloc(5000, 7));
    src = initRepo('ostree', tmp.join('src'), 'bare-user');
    a = run('ostree', [`--repo=${src}`, 'commit', '-b', 'main', `--tree=dir=${t}`]);
    sourceFile = run('ostree', [`--repo=${src}`, 'ls', '-C', a, '/data.bin']).split(/\s+/)[4]!;
    writeFileSync(join(t, 'data.bin'), Buffer.alloc(5001, 7));
    b = run('ostree', [`--repo=${src}`, 'commit', '-b', 'main', `--tree=dir=${t}`]);
    newFile = run('ostree', [`--repo=${src}`, 'ls', '-C', b, '/data.bin']).split(/\s+/)[4]!;
    commitB = readFileSync(join(src, 'objects', b.slice(0, 2), `${b.slice(2)}.commit`));
  });
  afterAll(() => tmp?.cleanup());

  /** A bare-user repo holding commit A only. */
  function target(): string {
    const r = initRepo('ostree', tmp.join(`dst-${n++}`), 'bare-user');
    run('ostree', [`--repo=${r}`, 'pull-local', src, a]);
    return r;
  }

  interface PartSpec {
    objects: DeltaObjectRef[];
    ops: number[];
    blob: Uint8Array;
    modes?: PartMode[];
    /** Replace the part file bytes. */
    file?: Uint8Array;
    header?: Partial<PartHeader>;
  }

  /** Writes a delta A→B (or `to`) into repo/deltas with the given parts; returns its folder. */
  async function writeDelta(repo: string, parts: PartSpec[], opts: { to?: string; commit?: Uint8Array } = {}): Promise<string> {
    const to = opts.to ?? b;
    const dir = join(repo, deltaRelDir(a, to));
    mkdirSync(dir, { recursive: true });
    const headers: PartHeader[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const payload = encodePartPayload({ modes: p.modes ?? [{ uid: 0, gid: 0, mode: 0o100644 }], xattrs: [[]], blob: p.blob, ops: new Uint8Array(p.ops) });
      const file = p.file ?? (await compressPart(payload, storeXzEncoder));
      writeFileSync(join(dir, String(i)), file);
      headers.push({ version: 0, checksum: sha(file), size: file.length, usize: payload.length, objects: p.objects, ...p.header });
    }
    writeFileSync(
      join(dir, 'superblock'),
      encodeSuperblock({ metadata: [], timestamp: 0n, from: a, to, commitBytes: opts.commit ?? commitB, parts: headers, fallbacks: [] }),
    );
    return dir;
  }

  function objectCount(repo: string): number {
    let c = 0;
    for (const p of readdirSync(join(repo, 'objects'))) c += readdirSync(join(repo, 'objects', p)).length;
    return c;
  }

  /** Applies and expects an error matching `re`, with the repo untouched. */
  async function refused(repo: string, dir: string, re: RegExp): Promise<void> {
    const before = objectCount(repo);
    const r = await Repo.open(host, repo);
    await expect(applyDeltaOffline(r, dir)).rejects.toThrow(re);
    expect(objectCount(repo)).toBe(before);
    expect(ostree([`--repo=${repo}`, 'show', b]).status).not.toBe(0);
    expect(readdirSync(join(repo, 'tmp')).filter((f) => f.startsWith('staging-'))).toEqual([]);
    ostreeFsck(repo);
  }

  // a dirmeta the target repo does not have (parts whose objects all exist are skipped, as in ostree)
  const dirmeta = () => encodeDirMeta({ uid: 4242, gid: 4242, mode: 0o40700, xattrs: [] });
  const dirmetaRef = (): DeltaObjectRef => ({ type: ObjectType.DirMeta, checksum: toHex(sha(dirmeta())) });

  it('a well-formed hand-made part applies (the harness itself is sound)', async () => {
    const r = target();
    const md = dirmeta();
    const dir = await writeDelta(r, [{ objects: [dirmetaRef()], ops: [0x53, ...varints(md.length, 0)], blob: md }]);
    // the commit's trees are absent from the part, so only check that the part ran and the commit landed
    const repo = await Repo.open(host, r);
    await applyDeltaOffline(repo, dir);
    expect(await repo.hasObject(toHex(sha(md)), ObjectType.DirMeta)).toBe(true);
    expect(await repo.hasObject(b, ObjectType.Commit)).toBe(true);
  });

  it('refuses a splice whose offset is past the end of the blob', async () => {
    const r = target();
    const md = dirmeta();
    const dir = await writeDelta(r, [{ objects: [dirmetaRef()], ops: [0x53, ...varints(md.length, 1000)], blob: md }]);
    await refused(r, dir, /outside the \d+-byte data blob/);
  });

  it('refuses a content splice with an out-of-range mode index and a huge length', async () => {
    const r = target();
    const ref: DeltaObjectRef = { type: ObjectType.File, checksum: newFile };
    await refused(r, await writeDelta(r, [{ objects: [ref], ops: [0x53, ...varints(5, 0, 10, 0)], blob: new Uint8Array(10) }]), /mode index 5 out of range/);
    const r2 = target();
    await refused(r2, await writeDelta(r2, [{ objects: [ref], ops: [0x53, ...varints(0, 0, 2 ** 40, 0)], blob: new Uint8Array(10) }]), /outside the/);
  });

  it('refuses a part whose file size differs from the superblock, or whose checksum does not match', async () => {
    const r = target();
    const md = dirmeta();
    const spec = { objects: [dirmetaRef()], ops: [0x53, ...varints(md.length, 0)], blob: md };
    await refused(r, await writeDelta(r, [{ ...spec, header: { size: 5 } }]), /declares 5/);
    const r2 = target();
    await refused(r2, await writeDelta(r2, [{ ...spec, header: { checksum: new Uint8Array(32) } }]), /checksum mismatch/);
  });

  it('refuses an xz bomb (output far above the declared size) after a bounded amount of work', async () => {
    const r = target();
    // 100 MB of zeros compress to ~15 kB; the cap is 4 × 100 + 64 MiB with xz
    const xz = spawnSync('sh', ['-c', 'head -c 100000000 /dev/zero | xz -1 -c'], { maxBuffer: 64 << 20 });
    expect(xz.status).toBe(0);
    const file = new Uint8Array(xz.stdout.length + 1);
    file[0] = COMPRESSION_XZ;
    file.set(xz.stdout, 1);
    const dir = await writeDelta(r, [{ objects: [dirmetaRef()], ops: [], blob: new Uint8Array(0), file, header: { usize: 100 } }]);
    await refused(r, dir, /decompresses to more than/);
  });

  it('refuses bspatch data that is truncated or writes past the object', async () => {
    const newContent = Buffer.alloc(5001, 7);
    const ref: DeltaObjectRef = { type: ObjectType.File, checksum: newFile };
    const ctl = (x: number, y: number, z: number) => {
      const out = Buffer.alloc(24);
      out.writeBigUInt64LE(BigInt(Math.abs(x)) | (x < 0 ? 1n << 63n : 0n), 0);
      out.writeBigUInt64LE(BigInt(Math.abs(y)) | (y < 0 ? 1n << 63n : 0n), 8);
      out.writeBigUInt64LE(BigInt(Math.abs(z)) | (z < 0 ? 1n << 63n : 0n), 16);
      return out;
    };
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.concat([ctl(5001, 0, 0), Buffer.alloc(4990)]), /truncated/],
      [Buffer.concat([ctl(5001, 0, 0), Buffer.alloc(10)]), /cannot come from a 34-byte patch/],
      [Buffer.concat([ctl(9999, 0, 0), Buffer.alloc(9999)]), /past the end/],
      [Buffer.concat([ctl(-1, 0, 0), Buffer.alloc(5000)]), /invalid control/],
      [Buffer.concat([ctl(5000, 2, 0), Buffer.alloc(5002)]), /past the end/],
    ];
    for (const [patch, re] of cases) {
      const r = target();
      const blob = Buffer.concat([Buffer.from(fromHex(sourceFile)), patch]);
      const ops = [0x72, ...varints(0), 0x6f, ...varints(0, 0, newContent.length), 0x42, ...varints(32, patch.length), 0x63, 0x52];
      await refused(r, await writeDelta(r, [{ objects: [ref], ops, blob }]), re);
    }
  });

  it('refuses a write that reads past the end of its read source', async () => {
    const ref: DeltaObjectRef = { type: ObjectType.File, checksum: newFile };
    const r = target();
    // the source object has 5000 bytes: [4990, +20) is outside it
    const ops = [0x72, ...varints(0), 0x6f, ...varints(0, 0, 5001), 0x77, ...varints(20, 4990), 0x52, 0x63];
    await refused(r, await writeDelta(r, [{ objects: [ref], ops, blob: Buffer.from(fromHex(sourceFile)) }]), /outside the 5000-byte read source/);
  });

  it('a bspatch whose reads of the old file land far outside it yields no object (checksum refused)', async () => {
    const ref: DeltaObjectRef = { type: ObjectType.File, checksum: newFile };
    const ctl = (x: number, y: number, z: number) => {
      const out = Buffer.alloc(24);
      out.writeBigUInt64LE(BigInt(Math.abs(x)) | (x < 0 ? 1n << 63n : 0n), 0);
      out.writeBigUInt64LE(BigInt(Math.abs(y)) | (y < 0 ? 1n << 63n : 0n), 8);
      out.writeBigUInt64LE(BigInt(Math.abs(z)) | (z < 0 ? 1n << 63n : 0n), 16);
      return out;
    };
    // seek a million bytes before the old file, then 5001 diff bytes: the old bytes read there
    // count as zeros (bsdiff's rule), so the result is the patch bytes, not the object's content
    for (const seek of [-1_000_000, 2 ** 40]) {
      const r = target();
      const patch = Buffer.concat([ctl(0, 0, seek), ctl(5001, 0, 0), Buffer.alloc(5001, 1)]);
      const blob = Buffer.concat([Buffer.from(fromHex(sourceFile)), patch]);
      const ops = [0x72, ...varints(0), 0x6f, ...varints(0, 0, 5001), 0x42, ...varints(32, patch.length), 0x63, 0x52];
      await refused(r, await writeDelta(r, [{ objects: [ref], ops, blob }]), /checksum|corrupt/i);
    }
    // a seek beyond 2^53 is refused as a bad control value
    const r = target();
    const patch = Buffer.concat([ctl(0, 0, 2 ** 53 + 2), ctl(5001, 0, 0), Buffer.alloc(5001, 1)]);
    const blob = Buffer.concat([Buffer.from(fromHex(sourceFile)), patch]);
    const ops = [0x72, ...varints(0), 0x6f, ...varints(0, 0, 5001), 0x42, ...varints(32, patch.length), 0x63, 0x52];
    await refused(r, await writeDelta(r, [{ objects: [ref], ops, blob }]), /invalid control|bspatch/);
  });

  it('refuses an object whose declared size is smaller than what the ops write, and a part whose usize lies low', async () => {
    const ref: DeltaObjectRef = { type: ObjectType.File, checksum: newFile };
    const r = target();
    const ops = [0x6f, ...varints(0, 0, 10), 0x77, ...varints(11, 0), 0x63];
    await refused(r, await writeDelta(r, [{ objects: [ref], ops, blob: new Uint8Array(11) }]), /writes past the declared size 10/);
    // a stored (uncompressed) part whose payload is far larger than the usize it declares: the
    // decompressed-size cap (4 × usize + 64 MiB) stops it
    const r2 = target();
    const md = dirmeta();
    const big = new Uint8Array((64 << 20) + 4096);
    const payload = encodePartPayload({ modes: [], xattrs: [], blob: big, ops: new Uint8Array([0x53, ...varints(md.length, 0)]) });
    const file = new Uint8Array(payload.length + 1);
    file.set(payload, 1);
    await refused(r2, await writeDelta(r2, [{ objects: [dirmetaRef()], ops: [], blob: md, file, header: { usize: 1 } }]), /over the limit/);
  });

  it('an open with a huge declared size allocates nothing up front and is refused', async () => {
    const ref: DeltaObjectRef = { type: ObjectType.File, checksum: newFile };
    const r = target();
    await refused(r, await writeDelta(r, [{ objects: [ref], ops: [0x6f, ...varints(0, 0, 2 ** 40)], blob: new Uint8Array(0) }]), /over the limit/);
    const r2 = target();
    const before = process.memoryUsage().arrayBuffers;
    await refused(r2, await writeDelta(r2, [{ objects: [ref], ops: [0x6f, ...varints(0, 0, 2 ** 31 - 2), 0x77, ...varints(3, 0), 0x63], blob: new Uint8Array(3) }]), /closed after 3 of its 2147483646 bytes/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 << 20);
  });

  it('refuses a superblock that names a different commit than it carries', async () => {
    const r = target();
    const dir = await writeDelta(r, [], { to: a });
    await refused(r, dir, /names commit .* but carries commit/);
    // and one carrying a commit whose bytes were altered
    const r2 = target();
    const bad = Uint8Array.from(commitB);
    bad[bad.length - 40] ^= 1;
    await refused(r2, await writeDelta(r2, [], { commit: bad }), /carries commit|Invalid|normal form/i);
  });

  it('refuses broken op streams and truncated superblocks', async () => {
    const md = dirmeta();
    const cases: Array<[number[], RegExp]> = [
      [[0x53, 0x80], /truncated varint/],
      [[0x53, ...varints(md.length, 0), 0x53, ...varints(md.length, 0)], /more operations than/],
      [[0x99], /unknown operation 0x99/],
      [[], /produced 0 of the 1 objects/],
      [[0x6f, ...varints(0, 0, 3)], /'o' on DirMeta/],
      [[0x63], /'c' without an open object/],
    ];
    for (const [ops, re] of cases) {
      const r = target();
      await refused(r, await writeDelta(r, [{ objects: [dirmetaRef()], ops, blob: md }]), re);
    }
    const r = target();
    const dir = await writeDelta(r, [{ objects: [dirmetaRef()], ops: [0x53, ...varints(md.length, 0)], blob: md }]);
    const sb = readFileSync(join(dir, 'superblock'));
    writeFileSync(join(dir, 'superblock'), sb.subarray(0, sb.length - 3));
    await refused(r, dir, /superblock/);
    expect(() => parseSuperblock(new Uint8Array(3))).toThrow();
  });
});
