// Hostile packages: real packages from rpmbuild, damaged byte by byte — truncated anywhere, il/dl
// past rpm's caps, offsets out of range, tags stored with the wrong type, unterminated strings,
// overlapping data, cpio names with `..` or absolute paths, entries the header does not list, a
// file below one of the package's own symlinks, gzip and bzip2 bombs, content that does not match
// FILEDIGESTS. Each must be refused with an RpmError (a XylemError) whose message names the
// package and the problem; none may allocate past the caps. The stripped 07070X cpio form is read
// like the newc form it was derived from.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openRpm, parseRpm, RpmError, Tag, type RpmSource } from '../../src/rpm/index.ts';
import { XylemError } from '../../src/util/errors.ts';
import { buildRpm, HAVE_RPMBUILD } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { be32, cpioNewc, cpioToStripped, dataAt, entryAt, gz, patchEntry, setBe32, withPayload } from './craft.ts';
import { built, everythingPackage, PAYLOADS } from './fixtures.ts';

async function drain(bytes: Uint8Array, name = 'hostile.rpm'): Promise<string[]> {
  const pkg = parseRpm(bytes, name);
  const paths: string[] = [];
  for await (const e of pkg.entries()) {
    paths.push(e.file.path);
    for await (const _ of e.data);
  }
  return paths;
}

async function refusal(f: () => unknown): Promise<RpmError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(XylemError);
    expect(e).toBeInstanceOf(RpmError);
    expect((e as RpmError).message.startsWith('hostile.rpm: ')).toBe(true);
    return e as RpmError;
  }
  throw new Error('expected a refusal');
}

describe.skipIf(missing('hostile rpm packages', { rpmbuild: HAVE_RPMBUILD }))('hostile packages are refused', () => {
  const path = built(everythingPackage('w9.gzdio'));
  const good = new Uint8Array(readFileSync(path));
  const ref = parseRpm(good, basename(path));
  const { headerStart: hs, headerEnd: he } = ref.layout;
  const copy = () => good.slice();

  it('truncated anywhere in the lead, signature or header', async () => {
    for (const cut of [0, 50, 95, 96, 100, 111, 200, ref.layout.signatureEnd - 1, hs + 3, hs + 15, hs + 16, hs + 500, he - 1]) {
      const e = await refusal(() => parseRpm(good.subarray(0, cut), 'hostile.rpm'));
      expect(e.message, `cut at ${cut}`).toMatch(/truncated|shorter than an rpm lead|bad lead magic/);
      const e2 = await refusal(() => openRpm(good.subarray(0, cut), 'hostile.rpm'));
      expect(e2.code).toBe(e.code);
    }
  });

  it('truncated payloads', async () => {
    for (const cut of [he, he + 1, he + 10, Math.floor((he + good.length) / 2), good.length - 1]) {
      const e = await refusal(() => drain(good.subarray(0, cut)));
      expect(e.message, `cut at ${cut}`).toMatch(/truncated|payload is missing|ends inside|corrupt|unexpected EOF/i);
    }
  });

  it('every compressor refuses a payload cut short by a few bytes', async () => {
    for (const payload of PAYLOADS) {
      const b = new Uint8Array(readFileSync(built(everythingPackage(payload))));
      for (const cut of [1, 4, 16]) {
        const e = await refusal(() => drain(b.subarray(0, b.length - cut)));
        expect(e.message, `${payload} -${cut}`).toMatch(/truncated|unexpected EOF/);
      }
    }
  });

  it('il and dl past rpm caps are refused before anything is allocated', async () => {
    for (const [field, value, re] of [
      [8, 0x10000, /declares 65536 index entries/],
      [8, 0, /declares 0 index entries/],
      [12, 0x10000000, /declares 268435456 data bytes/],
      [8, 0xffffffff, /index entries/],
    ] as const) {
      const b = copy();
      setBe32(b, hs + field, value);
      const e = await refusal(() => parseRpm(b, 'hostile.rpm'));
      expect(e.message).toMatch(re);
      expect(e.code).toBe('ERPM_CAP');
      // streamed: no read larger than the real file happens, no huge buffer
      let biggest = 0;
      const src: RpmSource = {
        read: async (pos, len) => {
          biggest = Math.max(biggest, len);
          return b.subarray(pos, pos + len);
        },
      };
      await refusal(() => openRpm(src, 'hostile.rpm'));
      expect(biggest).toBeLessThanOrEqual(1 << 20);
    }
    // signature header: rpm allows at most 32 entries there
    const b = copy();
    setBe32(b, 96 + 8, 33);
    expect((await refusal(() => parseRpm(b, 'hostile.rpm'))).message).toMatch(/signature header declares 33 index entries/);
  });

  it('a large declared header on a short file fails on the data actually there', async () => {
    const b = copy();
    setBe32(b, hs + 8, 0xffff);
    setBe32(b, hs + 12, 0x0fffffff);
    const e = await refusal(() => openRpm(b, 'hostile.rpm'));
    expect(e.code).toBe('ERPM_TRUNCATED');
  });

  it('offsets out of range, misaligned, overlapping; counts too big', async () => {
    const cases: [number, 'offset' | 'count' | 'type', number, RegExp][] = [
      [Tag.NAME, 'offset', 0x7fffffff, /outside the \d+-byte data area/],
      [Tag.NAME, 'offset', 0xfffffff0, /overlaps|outside/],
      [Tag.FILESIZES, 'offset', 2, /misaligned|overlaps/],
      [Tag.FILEMODES, 'count', 0x0fffffff, /more than the data holds|runs past/],
      [Tag.DIRINDEXES, 'count', 100000, /runs past|overlaps|more than the data holds/],
      [Tag.BASENAMES, 'count', 1000000, /runs past|more than/],
      [Tag.VERSION, 'offset', 0, /overlaps/],
    ];
    for (const [tag, field, value, re] of cases) {
      const b = copy();
      patchEntry(b, hs, tag, field, value);
      const e = await refusal(() => parseRpm(b, 'hostile.rpm'));
      expect(e.message, `${tag} ${field}: ${e.message}`).toMatch(re);
      expect(e.code).toBe('ERPM_HEADER');
    }
  });

  it('tags stored with types rpm does not declare for them', async () => {
    for (const [tag, type, re] of [
      [Tag.NAME, 4, /tag 1000 is stored as INT32, rpm declares it STRING/],
      [Tag.FILEMODES, 4, /tag 1030 is stored as INT32, rpm declares it INT16/],
      [Tag.FILESIZES, 8, /tag 1028 is stored as STRING_ARRAY/],
      [Tag.NAME, 10, /unknown type 10/],
      [Tag.NAME, 0xffffffff, /unknown type/],
    ] as const) {
      const b = copy();
      patchEntry(b, hs, tag, 'type', type);
      expect((await refusal(() => parseRpm(b, 'hostile.rpm'))).message).toMatch(re);
    }
  });

  it('an unterminated string', async () => {
    // make the header's last string entry's terminating NUL disappear by shrinking dl past it
    const b = copy();
    const at = dataAt(b, hs, Tag.NAME);
    let z = at;
    while (b[z] !== 0) z++;
    b[z] = 0x41; // 'A': NAME now runs into the next string
    const e = await refusal(() => parseRpm(b, 'hostile.rpm'));
    expect(e.message).toMatch(/overlaps|unterminated|runs past/);
  });

  it('a region trailer that lies', async () => {
    const b = copy();
    const regionData = dataAt(b, hs, Tag.HEADERIMMUTABLE);
    setBe32(b, regionData + 8, 0xffffff00); // claims -256 → 16 entries? fine; use a positive offset
    setBe32(b, regionData + 8, 16);
    expect((await refusal(() => parseRpm(b, 'hostile.rpm'))).message).toMatch(/region trailer/);
    const c = copy();
    patchEntry(c, hs, Tag.HEADERIMMUTABLE, 'count', 15);
    expect((await refusal(() => parseRpm(c, 'hostile.rpm'))).message).toMatch(/region tag 63/);
  });

  it('bad lead and header magic', async () => {
    const a = copy();
    a[0] = 0;
    expect((await refusal(() => parseRpm(a, 'hostile.rpm'))).message).toMatch(/not an rpm package/);
    const b = copy();
    b[hs] = 0;
    expect((await refusal(() => parseRpm(b, 'hostile.rpm'))).message).toMatch(/header has a bad magic/);
  });

  const files = ref.files();
  const newc = gunzipSync(good.subarray(he));

  it('cpio names with .. or absolute paths, names not in the header', async () => {
    for (const [name, re] of [
      ['./usr/lib/../../../etc/passwd', /'\.\.' component/],
      ['../etc/passwd', /'\.\.' component/],
      ['/etc/passwd', /absolute path/],
      ['./usr//lib', /empty or "\." component/],
      ['./usr/bin/not-listed', /not in the header's file list/],
    ] as const) {
      const payload = gz(cpioNewc([{ name, mode: 0o100644, data: 'evil\n' }]));
      const e = await refusal(() => drain(withPayload(good, he, payload)));
      expect(e.message, name).toMatch(re);
    }
  });

  it('an entry twice, a %ghost entry, a type or size that disagrees with the header, a missing file', async () => {
    const first = files.find((f) => f.path === '/usr/bin/everything')!;
    const name = '.' + first.path;
    const body = '#!/bin/sh\necho everything\n';
    const cases: [Parameters<typeof cpioNewc>[0], RegExp][] = [
      [[{ name, mode: first.mode, data: body }, { name, mode: first.mode, data: body }], /holds \/usr\/bin\/everything twice/],
      [[{ name: './var/log/everything.log', mode: 0o100644, data: '' }], /a %ghost file/],
      [[{ name, mode: 0o040755 }], /has file type 40000, the header says 100000/],
      [[{ name, mode: first.mode, data: body + 'more' }], /holds \d+ bytes, the header says/],
      [[{ name, mode: first.mode, data: body }], /missing from the payload/],
    ];
    for (const [entries, re] of cases) expect((await refusal(() => drain(withPayload(good, he, gz(cpioNewc(entries)))))).message).toMatch(re);
  });

  it('content that does not match FILEDIGESTS names the file', async () => {
    const b = Buffer.from(newc);
    const at = b.indexOf('echo everything');
    b[at] = 'E'.charCodeAt(0);
    const e = await refusal(() => drain(withPayload(good, he, gz(b))));
    expect(e.code).toBe('ERPM_DIGEST');
    expect(e.message).toMatch(/\/usr\/bin\/everything: SHA256 digest [0-9a-f]{64} does not match the header's [0-9a-f]{64}/);
  });

  it('a file below one of the package\'s own symlinks (rpmbuild made it)', async () => {
    const p = buildRpm(
      {
        name: 'through',
        files: [
          { path: '/usr/lib/through/real/evil', content: 'x\n' },
          { path: '/usr/lib/through/link', type: 'symlink', target: 'real' },
          { path: '/usr/lib/through/link/evil2', content: 'y\n' },
          { path: '/usr/lib/through/real/evil2', content: 'y\n' },
        ],
      },
      mkdtempSync(join(tmpdir(), 'xylem-rpm-through-')),
    );
    const e = await refusal(() => drain(new Uint8Array(readFileSync(p))));
    expect(e.code).toBe('ERPM_PATH');
    expect(e.message).toMatch(/\/usr\/lib\/through\/link\/evil2 lies below \/usr\/lib\/through\/link, a symlink of the package/);
  });

  it('gzip and bzip2 bombs stop at what the header allows', async () => {
    const zeros = Buffer.alloc(200 * 1024 * 1024);
    const payloads: [string, Uint8Array][] = [
      ['gzip', gz(zeros)],
      ['bzip2', execFileSync('bzip2', ['-c', '-9'], { input: zeros, maxBuffer: 1 << 30 })],
    ];
    for (const [kind, bomb] of payloads) {
      // a real package whose header announces the compressor the bomb uses
      const host = kind === 'gzip' ? good : new Uint8Array(readFileSync(built(everythingPackage('w9.bzdio'))));
      const hostEnd = parseRpm(host, 'x').layout.headerEnd;
      const t = Date.now();
      const before = process.memoryUsage().rss;
      const e = await refusal(() => drain(withPayload(host, hostEnd, bomb)));
      expect(e, kind).toBeInstanceOf(RpmError);
      expect(e.message, kind).toMatch(/decompresses to more than the \d+ bytes the header allows|bad cpio magic|header's file list|corrupt/);
      expect(Date.now() - t, kind).toBeLessThan(20000);
      expect(process.memoryUsage().rss - before, kind).toBeLessThan(150 * 1024 * 1024);
    }
  });

  it('the stripped 07070X form reads like the newc form it came from', async () => {
    const idx = new Map(files.map((f) => [f.path, f.index]));
    const stripped = cpioToStripped(newc, (n) => idx.get(n.slice(1))!);
    expect(stripped.length).toBeLessThan(newc.length);
    const a = await collect(good);
    const b = await collect(withPayload(good, he, gz(stripped)));
    expect(b).toEqual(a);
    // an index past the file list
    const bad = cpioToStripped(newc, () => 100000);
    expect((await refusal(() => drain(withPayload(good, he, gz(bad))))).message).toMatch(/file index 100000/);
  });

  it('entry() of a signature header entry with an absurd count fails cleanly', async () => {
    const b = copy();
    patchEntry(b, 96, 1000, 'count', 0xffffffff); // SIG SIZE as INT32 with a huge count
    void entryAt;
    void be32;
    const e = await refusal(() => parseRpm(b, 'hostile.rpm'));
    expect(e.message).toMatch(/signature header/);
  });
});

async function collect(bytes: Uint8Array): Promise<[string, string, string[]][]> {
  const out: [string, string, string[]][] = [];
  for await (const e of parseRpm(bytes, 'x').entries()) out.push([e.file.path, Buffer.from(await e.bytes()).toString('base64'), e.hardlinks.map((h) => h.path)]);
  return out;
}
