// Hostile input for the rpm-md readers: DOCTYPE-borne attacks (billion laughs, external entities),
// deep nesting, huge attributes and texts, bad UTF-8, a foreign encoding, chunk boundaries in the
// middle of multi-byte characters; broken compression (truncated gzip at every length, a gzip bomb,
// a zstd frame asking for a giant window, truncated xz/zstd) and checksum mismatches. Every refusal
// is a XylemError that names the file (and line, for XML). Compressed inputs come from the real
// gzip/xz/zstd tools.

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hasCommand } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { parseXmlStream, type XmlStreamHandler } from '../../src/rpmmd/xml-stream.ts';
import { decompressStream } from '../../src/rpmmd/decompress.ts';
import { verifyStream } from '../../src/rpmmd/digest.ts';
import { streamPrimary } from '../../src/rpmmd/primary.ts';
import { parseRepomd } from '../../src/rpmmd/repomd.ts';
import { XylemError } from '../../src/util/errors.ts';
import { resolveHref } from '../../src/rpmmd/fetch.ts';
import { nodeDeflateProvider } from '../../runtimes/posix/deflate.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
async function* chunks(b: Uint8Array, size = b.length || 1): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}
const NULL_HANDLER: XmlStreamHandler = { start() {}, end() {}, text() {} };

async function xmlError(doc: string | Uint8Array, limits = {}): Promise<XylemError> {
  const bytes = typeof doc === 'string' ? enc(doc) : doc;
  const e = await parseXmlStream(chunks(bytes, 4096), NULL_HANDLER, { fileName: 'evil.xml', limits }).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(XylemError);
  expect((e as Error).message).toMatch(/^evil\.xml:\d+:\d+: /);
  return e as XylemError;
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('XML layer: refusals', () => {
  it('refuses a billion-laughs DOCTYPE before expanding anything', async () => {
    let doc = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n';
    for (let i = 1; i <= 9; i++) doc += ` <!ENTITY lol${i} "${`&lol${i - 1 || ''};`.repeat(10)}">\n`;
    doc += ']>\n<metadata>&lol9;</metadata>\n';
    const e = await xmlError(doc);
    expect(e.message).toMatch(/DOCTYPE is not allowed/);
    expect(e.code).toBe('EINVAL');
  });

  it('refuses an external entity (XXE)', async () => {
    const e = await xmlError('<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<metadata>&xxe;</metadata>');
    expect(e.message).toMatch(/DOCTYPE/);
  });

  it('refuses a DOCTYPE whose internal subset never ends (no unbounded buffering)', async () => {
    const big = '<!DOCTYPE m [' + '<!-- x -->'.repeat(200_000);
    const e = await xmlError(big);
    expect(e.message).toMatch(/DOCTYPE/);
  });

  it('refuses undefined entities (no entity table to consult)', async () => {
    const e = await xmlError('<metadata>&nbsp;</metadata>');
    expect(e.code).toBe('EINVAL');
  });

  it('caps nesting depth', async () => {
    const e = await xmlError('<a>'.repeat(100_000) + '</a>'.repeat(100_000));
    expect(e.code).toBe('ETOOBIG');
    expect(e.message).toMatch(/deeper than the limit of 64/);
  });

  it('caps attribute length even when the value spans many chunks', async () => {
    const e = await xmlError(`<metadata><package name="${'A'.repeat(2_000_000)}"/></metadata>`);
    expect(e.code).toBe('ETOOBIG');
    expect(e.message).toMatch(/attribute/);
  });

  it('caps the attribute count', async () => {
    const attrs = Array.from({ length: 100 }, (_, i) => `a${i}="x"`).join(' ');
    const e = await xmlError(`<metadata ${attrs}/>`);
    expect(e.message).toMatch(/more than the limit of 64 attributes/);
  });

  it('caps text per element', async () => {
    const e = await xmlError(`<metadata><description>${'x'.repeat(300_000)}</description></metadata>`, { maxTextLength: 100_000 });
    expect(e.code).toBe('ETOOBIG');
  });

  it('caps the total size', async () => {
    const e = await xmlError(`<metadata>${'<p/>'.repeat(10_000)}</metadata>`, { maxTotalBytes: 20_000 });
    expect(e.message).toMatch(/larger than the limit of 20000 bytes/);
  });

  it('refuses invalid UTF-8 and a declared foreign encoding', async () => {
    expect((await xmlError(new Uint8Array([...enc('<metadata>'), 0xc3, 0x28, ...enc('</metadata>')]))).message).toMatch(/UTF-8/);
    expect((await xmlError('<?xml version="1.0" encoding="ISO-8859-1"?><metadata/>')).message).toMatch(/encoding/);
  });

  it('names the line of an error', async () => {
    const e = await xmlError('<metadata>\n<package>\n<name>x</nam>\n</package></metadata>');
    expect(e.message).toMatch(/^evil\.xml:3:/);
  });

  it('decodes multi-byte characters split across every possible chunk boundary', async () => {
    const doc = enc('<m><s a="é日">é 日本 😀 &amp; &#x263A;</s></m>');
    for (const size of [1, 2, 3, 5, 7]) {
      let text = '';
      let attr = '';
      await parseXmlStream(chunks(doc, size), { start: (_n, a) => void (attr ||= a.a ?? ''), end() {}, text: (t) => void (text += t) }, { fileName: 'ok.xml' });
      expect(text, `chunk ${size}`).toBe('é 日本 😀 & ☺');
      expect(attr).toBe('é日');
    }
  });
});

describe('primary.xml: semantic refusals', () => {
  const pkg = (inner: string) =>
    `<metadata packages="1"><package type="rpm"><name>p</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/><checksum type="sha256" pkgid="YES">${'a'.repeat(64)}</checksum><location href="p.rpm"/>${inner}</package></metadata>`;
  const run = (doc: string) => streamPrimary(chunks(enc(doc)), () => undefined, { fileName: 'primary.xml' });

  it('accepts the minimal package', async () => {
    expect((await run(pkg(''))).packages).toBe(1);
  });
  it('refuses bad epochs, flags, checksums and counts, naming the package', async () => {
    for (const [doc, re] of [
      [pkg('').replace('epoch="0"', 'epoch="-1"'), /package 'p'.*epoch/],
      [pkg('<format><rpm:requires><rpm:entry name="x" flags="XX" ver="1"/></rpm:requires></format>'), /unknown flags/],
      [pkg('').replace('a'.repeat(64), 'zz'), /malformed sha256 checksum/],
      [pkg('<size package="1e9"/>'), /not a non-negative integer/],
      [pkg('<format><file type="socket">/x</file></format>'), /unknown file type/],
      [pkg('').replace('<name>p</name>', ''), /no <name>/],
    ] as const) {
      const e = await run(doc).catch((x: unknown) => x);
      expect(e, doc).toBeInstanceOf(XylemError);
      expect((e as Error).message).toMatch(/^primary\.xml:\d+:\d+: /);
      expect((e as Error).message).toMatch(re);
    }
  });
  it('refuses repomd.xml with a duplicated data type or a bad checksum', async () => {
    const d = `<data type="primary"><checksum type="sha256">${'b'.repeat(64)}</checksum><location href="repodata/p.xml.gz"/></data>`;
    await expect(parseRepomd(enc(`<repomd>${d}${d}</repomd>`), 'repomd.xml')).rejects.toThrow(/appears twice/);
    await expect(parseRepomd(enc(`<repomd>${d.replace('sha256', 'crc7')}</repomd>`), 'repomd.xml')).rejects.toThrow(/unsupported checksum type 'crc7'/);
  });
});

const TOOLS = { gzip: hasCommand('gzip'), xz: hasCommand('xz'), zstd: hasCommand('zstd') };
describe.skipIf(missing('decompression hostile inputs', TOOLS))('decompression', () => {
  const xml = enc('<metadata>' + '<package><name>n</name></package>\n'.repeat(20_000) + '</metadata>\n');
  const gz = execFileSync('gzip', ['-c', '-9'], { input: xml });
  const xz = execFileSync('xz', ['-c'], { input: xml });
  const zst = execFileSync('zstd', ['-c', '-q'], { input: xml });

  // gzip runs through fflate, or through the host's native decoder (Host.deflate.gunzipChunks).
  const GUNZIPS = [
    ['fflate', {}],
    ['node:zlib', { gunzip: nodeDeflateProvider.gunzipChunks! }],
  ] as const;

  it('round-trips what gzip, xz and zstd wrote (concatenated gzip members too)', async () => {
    for (const [via, extra] of GUNZIPS)
      for (const [name, data] of [['a.gz', gz], ['a.xz', xz], ['a.zst', zst], ['b.gz', Buffer.concat([gz, gz])]] as const) {
        const out = await drain(decompressStream(chunks(data, 1000), { what: name, maxOutput: 1 << 30, name, ...extra }));
        expect(Buffer.from(out).equals(name === 'b.gz' ? Buffer.concat([xml, xml]) : Buffer.from(xml)), `${name} via ${via}`).toBe(true);
      }
  });

  it('refuses gzip truncated at any point, or with a wrong CRC or size in its trailer', async () => {
    const cuts = [1, 2, 5, 8, 9, 20, 100, gz.length >> 1, gz.length - 9, gz.length - 8, gz.length - 4, gz.length - 1];
    const badCrc = Buffer.from(gz);
    badCrc[gz.length - 8]! ^= 0x01;
    const badSize = Buffer.from(gz);
    badSize[gz.length - 1]! ^= 0x10;
    for (const [via, extra] of GUNZIPS) {
      const inputs: Array<[string, Uint8Array]> = [...cuts.map((n) => [`cut at ${n}`, gz.subarray(0, n)] as [string, Uint8Array]), ['bad CRC', badCrc], ['bad size', badSize]];
      for (const [label, data] of inputs) {
        const e = await drain(decompressStream(chunks(data, 333), { what: 'primary.xml.gz', maxOutput: 1 << 30, name: 'primary.xml.gz', ...extra })).catch((x: unknown) => x);
        expect(e, `${label} via ${via}`).toBeInstanceOf(XylemError);
        expect((e as XylemError).code, `${label} via ${via}`).toBe('ECORRUPT');
        expect((e as Error).message, `${label} via ${via}`).toMatch(/^primary\.xml\.gz: (invalid gzip data|not gz data)/);
      }
    }
  });

  it('refuses truncated xz and zstd', async () => {
    for (const [name, data] of [['p.xz', xz], ['p.zst', zst]] as const) {
      for (const n of [10, data.length >> 1, data.length - 1]) {
        const e = await drain(decompressStream(chunks(data.subarray(0, n), 777), { what: name, maxOutput: 1 << 30, name })).catch((x: unknown) => x);
        expect(e, `${name} cut at ${n}`).toBeInstanceOf(XylemError);
      }
    }
  });

  it('stops a gzip bomb at the cap without holding the output', async () => {
    // 256 MiB of zeros: ~250 KiB of gzip.
    const bomb = execFileSync('sh', ['-c', 'head -c 268435456 /dev/zero | gzip -c -1'], { maxBuffer: 64 << 20 });
    for (const [via, extra] of GUNZIPS) {
      const before = process.memoryUsage().rss;
      let seen = 0;
      const e = await (async () => {
        for await (const c of decompressStream(chunks(bomb, 65536), { what: 'bomb.gz', maxOutput: 16 << 20, name: 'bomb.gz', ...extra })) seen += c.length;
      })().catch((x: unknown) => x);
      expect(e, via).toBeInstanceOf(XylemError);
      expect((e as XylemError).code, via).toBe('ETOOBIG');
      expect(seen).toBeLessThanOrEqual(16 << 20);
      expect(process.memoryUsage().rss - before, via).toBeLessThan(128 << 20);
    }
  }, 60_000);

  it('refuses a zstd frame that asks for a window above 128 MiB', async () => {
    // Frame header: magic, descriptor 0 (no single segment), window descriptor exponent 18 → 2^28.
    const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, (18 << 3) | 0, 0x01, 0x00, 0x00]);
    const e = await drain(decompressStream(chunks(frame), { what: 'w.zst', maxOutput: 1 << 30, name: 'w.zst' })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(XylemError);
    expect((e as Error).message).toMatch(/window/);
  });

  it('refuses data whose magic does not match its extension', async () => {
    await expect(drain(decompressStream(chunks(enc('not compressed at all')), { what: 'x.xml.gz', maxOutput: 100, name: 'x.xml.gz' }))).rejects.toThrow(/not gz data/);
  });

  it('verifies checksum and size while streaming', async () => {
    const good = { type: 'sha256', value: createHash('sha256').update(gz).digest('hex') };
    await drain(verifyStream(chunks(gz, 100), { what: 'p.gz', checksum: good, size: gz.length }));
    const bad = Buffer.from(gz);
    bad[bad.length >> 1]! ^= 1;
    await expect(drain(verifyStream(chunks(bad, 100), { what: 'p.gz', checksum: good, size: gz.length }))).rejects.toThrow(/p\.gz: sha256 checksum is [0-9a-f]+, expected/);
    await expect(drain(verifyStream(chunks(gz, 100), { what: 'p.gz', checksum: good, size: gz.length - 1 }))).rejects.toThrow(/larger than its declared size/);
  });
});

describe('location hrefs', () => {
  const base = 'https://mirror.invalid/fedora/40';
  it('resolves plain relative hrefs under the base or xml:base', () => {
    expect(resolveHref(base, 'Packages/a/a-1.rpm', null, 'p')).toBe(`${base}/Packages/a/a-1.rpm`);
    expect(resolveHref(`${base}/`, 'repodata/x-primary.xml.gz', null, 'p')).toBe(`${base}/repodata/x-primary.xml.gz`);
    expect(resolveHref(base, 'a.rpm', 'https://other.invalid/repo/', 'p')).toBe('https://other.invalid/repo/a.rpm');
    expect(resolveHref('file:///srv/repo', 'a.rpm', 'file:///srv/other', 'p')).toBe('file:///srv/other/a.rpm');
  });
  it('refuses everything that could leave the repository', () => {
    for (const href of ['../../etc/passwd', 'Packages/../../x.rpm', '/etc/passwd', 'file:///etc/passwd', 'https://evil.invalid/x.rpm', '%2e%2e/x.rpm', 'a/%2E%2E/%2e%2e/x', 'a/%2f/x', 'a\\..\\x', './a.rpm', 'a//b.rpm', '', 'a\u0000b', 'a?x=1', 'a#frag'])
      expect(() => resolveHref(base, href, null, 'pkg'), JSON.stringify(href)).toThrow(XylemError);
    expect(() => resolveHref(base, 'a.rpm', 'file:///', 'pkg')).toThrow(/xml:base 'file:\/\/\/' is not an http\(s\) URL/);
    expect(() => resolveHref(base, 'a.rpm', 'javascript:alert(1)', 'pkg')).toThrow(/xml:base/);
  });
});
