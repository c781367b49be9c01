// The byte-level reader (src/rpmmd/xml-fast.ts) against the saxes reader it replaces on the big
// documents (src/rpmmd/xml-stream.ts): on mutated primary.xml documents in random chunkings both
// give the same events (names, attributes, text) or both refuse with a XylemError; on real
// createrepo_c repositories (and the Debian index converted to rpm-md, when the bench has made it)
// streamPrimary/streamFilelists give the same records either way; and the hostile inputs of
// hostile.test.ts get the same refusals.

import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'fflate';
import { parseXmlStream, type XmlStreamHandler, type XmlStreamLimits } from '../../src/rpmmd/xml-stream.ts';
import { parseXmlFast } from '../../src/rpmmd/xml-fast.ts';
import { streamPrimary, type RpmmdPackage } from '../../src/rpmmd/primary.ts';
import { streamFilelists, type FilelistsPackage } from '../../src/rpmmd/filelists.ts';
import { XylemError } from '../../src/util/errors.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { buildFixtureRepo } from './fixtures.ts';
import { mutate, randomChunks, Rng, SEED_PRIMARY } from './mutate.ts';

type Parser = typeof parseXmlStream;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
async function* chunked(b: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

/** Every event as a line (adjacent texts joined), or the refusal's code. */
async function events(parse: Parser, doc: AsyncIterable<Uint8Array>, limits?: XmlStreamLimits): Promise<{ ev: string[] } | { code: string; message: string }> {
  const ev: string[] = [];
  let text = '';
  const put = (s: string): void => {
    if (text !== '') ev.push(`T ${JSON.stringify(text)}`);
    text = '';
    ev.push(s);
  };
  const h: XmlStreamHandler = {
    start: (n, a) => put(`S ${n} ${JSON.stringify(Object.entries(a))}`),
    end: (n) => put(`E ${n}`),
    text: (t) => void (text += t),
  };
  try {
    await parse(doc, h, { fileName: 'doc.xml', limits });
    return { ev };
  } catch (e) {
    if (!(e instanceof XylemError)) throw e;
    expect(e.message).toMatch(/^doc\.xml:\d+:\d+: /);
    return { code: e.code ?? '', message: e.message };
  }
}

const ok = (r: { ev: string[] } | { code: string }): 'ok' | 'refused' => ('ev' in r ? 'ok' : 'refused');

describe('xml-fast: same events as the saxes reader', () => {
  it('on the seed and on 3000 mutated documents in random chunkings', async () => {
    const base = enc(SEED_PRIMARY);
    const a0 = await events(parseXmlStream, chunked(base, 7));
    expect(a0).toEqual(await events(parseXmlFast, chunked(base, 5)));
    const diffs: string[] = [];
    const counts = { ok: 0, refused: 0 };
    for (let seed = 1; seed <= 3000; seed++) {
      const rng = new Rng(seed * 2654435761);
      const doc = mutate(base, rng);
      const a = await events(parseXmlStream, randomChunks(doc, new Rng(seed)));
      const b = await events(parseXmlFast, randomChunks(doc, new Rng(seed + 1)));
      counts[ok(a)]++;
      if (ok(a) !== ok(b) || ('ev' in a && JSON.stringify(a) !== JSON.stringify(b)))
        diffs.push(`seed ${seed}: saxes ${'ev' in a ? 'ok' : a.message} / fast ${'ev' in b ? 'ok' : b.message}`);
    }
    expect(diffs.slice(0, 10)).toEqual([]);
    expect(counts.ok).toBeGreaterThan(30);
  }, 120_000);

  it('on line ends, tabs, references, CDATA, comments and PIs split at every byte', async () => {
    const doc = enc('\uFEFF<?xml version="1.0" encoding="utf-8"?>\r\n<!-- c - - -->\n<m a="x\ty\r\nz&#10;w&#9;&lt;" b=\'q "\'>a\r\nb\rc&#13;d&amp;&#x1F600;é<![CDATA[x\r\n]y]]]>' +
      '<?pi data?><e/>日本\r</m>\n<!-- tail -->\n');
    const want = await events(parseXmlStream, chunked(doc, doc.length));
    expect(ok(want)).toBe('ok');
    for (let size = 1; size <= 9; size++) expect(await events(parseXmlFast, chunked(doc, size)), `size ${size}`).toEqual(want);
  });

  it('refuses what hostile.test.ts refuses, with the same codes', async () => {
    let lolz = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n';
    for (let i = 1; i <= 9; i++) lolz += ` <!ENTITY lol${i} "${`&lol${i - 1 || ''};`.repeat(10)}">\n`;
    lolz += ']>\n<metadata>&lol9;</metadata>\n';
    const cases: [string | Uint8Array, XmlStreamLimits | undefined, RegExp][] = [
      [lolz, undefined, /DOCTYPE is not allowed/],
      ['<!DOCTYPE m [' + '<!-- x -->'.repeat(200_000), undefined, /DOCTYPE/],
      ['<metadata>&nbsp;</metadata>', undefined, /entity/],
      ['<a>'.repeat(100_000) + '</a>'.repeat(100_000), undefined, /deeper than the limit of 64/],
      [`<metadata><package name="${'A'.repeat(2_000_000)}"/></metadata>`, undefined, /attribute/],
      [`<metadata ${Array.from({ length: 100 }, (_, i) => `a${i}="x"`).join(' ')}/>`, undefined, /more than the limit of 64 attributes/],
      [`<metadata><description>${'x'.repeat(300_000)}</description></metadata>`, { maxTextLength: 100_000 }, /longer than the limit/],
      [`<metadata>${'<p/>'.repeat(10_000)}</metadata>`, { maxTotalBytes: 20_000 }, /larger than the limit of 20000 bytes/],
      [new Uint8Array([...enc('<metadata>'), 0xc3, 0x28, ...enc('</metadata>')]), undefined, /UTF-8/],
      ['<?xml version="1.0" encoding="ISO-8859-1"?><metadata/>', undefined, /encoding/],
      ['<metadata>\n<package>\n<name>x</nam>\n</package></metadata>', undefined, /^doc\.xml:3:/],
      ['<m><!-- never ends', undefined, /comment/],
      ['<m/><m/>', undefined, /root/],
      ['<m>', undefined, /ends inside/],
      ['', undefined, /empty/],
    ];
    for (const [doc, limits, re] of cases) {
      const bytes = typeof doc === 'string' ? enc(doc) : doc;
      const a = await events(parseXmlStream, chunked(bytes, 4096), limits);
      const b = await events(parseXmlFast, chunked(bytes, 4096), limits);
      expect('code' in a && 'code' in b, String(doc).slice(0, 60)).toBe(true);
      if ('code' in a && 'code' in b) {
        expect(b.code, b.message).toBe(a.code);
        expect(b.message).toMatch(re);
      }
    }
  });
});

async function collect<T>(stream: (input: AsyncIterable<Uint8Array>, sink: (p: T) => void, o: { fileName: string; parser?: Parser }) => Promise<unknown>, bytes: Uint8Array, parser: Parser): Promise<T[]> {
  const out: T[] = [];
  await stream(chunked(bytes, 65536), (p) => void out.push(p), { fileName: 'x.xml', parser });
  return out;
}

describe('xml-fast: same records from real repositories', () => {
  it.skipIf(missing('xml-fast createrepo_c', { rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO }))('createrepo_c primary.xml and filelists.xml', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'xml-fast-'));
    try {
      const repo = buildFixtureRepo(join(tmp, 'repo'));
      const rd = join(repo, 'repodata');
      const file = (kind: string): Uint8Array => gunzipSync(readFileSync(join(rd, readdirSync(rd).find((f) => f.endsWith(`${kind}.xml.gz`))!)));
      const p1 = await collect<RpmmdPackage>(streamPrimary, file('primary'), parseXmlStream);
      expect(p1.length).toBeGreaterThan(2);
      expect(await collect<RpmmdPackage>(streamPrimary, file('primary'), parseXmlFast)).toEqual(p1);
      const f1 = await collect<FilelistsPackage>(streamFilelists, file('filelists'), parseXmlStream);
      expect(f1.some((p) => p.files.length > 0)).toBe(true);
      expect(await collect<FilelistsPackage>(streamFilelists, file('filelists'), parseXmlFast)).toEqual(f1);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  const DEBIAN = '/var/tmp/xylem-bench/solve-60k/repo/repodata/primary.xml.gz';
  it.skipIf(!existsSync(DEBIAN))("the Debian index as rpm-md (the bench's 66k packages)", async () => {
    const bytes = gunzipSync(readFileSync(DEBIAN));
    const digest = async (parser: Parser): Promise<{ n: number; sum: string }> => {
      let n = 0;
      let h = 0;
      const s = { n: 0, sum: '' };
      await streamPrimary(chunked(bytes, 65536), (p) => {
        n++;
        const j = JSON.stringify(p);
        for (let i = 0; i < j.length; i++) h = Math.imul(h ^ j.charCodeAt(i), 16777619);
      }, { fileName: 'primary.xml', parser });
      s.n = n;
      s.sum = (h >>> 0).toString(16);
      return s;
    };
    const a = await digest(parseXmlStream);
    expect(a.n).toBeGreaterThan(60_000);
    expect(await digest(parseXmlFast)).toEqual(a);
  }, 300_000);
});
