// The metalink reader (src/remote/metalink.ts over src/remote/metalink-xml.ts): valid metalinks as
// Fedora's MirrorManager and ostree's test-pull-metalink.sh write them give the size, hashes and
// URLs; libostree's errors for missing parts and malformed digests; hostile documents (too big,
// too deep, entity definitions, billion laughs, external entities, bad references) are refused
// without expanding anything. Digests are checked against node:crypto.

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { parseMetalink, checkMetalinkBody, urlDirname, fetchMetalinkTarget, MAX_METALINK_SIZE } from '../../src/remote/metalink.ts';
import { parseXml } from '../../src/remote/metalink-xml.ts';
import { NotFoundError, XylemError } from '../../src/util/errors.ts';
import { parseMirrorlist, resolveMirrorlist } from '../../src/remote/mirrorlist.ts';
import type { RemoteFetcher } from '../../src/remote/config.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const body = enc('pretend this is a summary file\n');
const sha256 = createHash('sha256').update(body).digest('hex');
const sha512 = createHash('sha512').update(body).digest('hex');

function metalink(opts: { file?: string; size?: string; hashes?: string; urls?: string; before?: string; after?: string } = {}): string {
  const hashes = opts.hashes ?? `<hash type="md5">0123</hash><hash type="sha256">${sha256}</hash><hash type="sha512">${sha512}</hash>`;
  const urls =
    opts.urls ??
    `<url protocol="https" type="https" location="US" preference="100">https://a.example/repo/summary</url>
       <url protocol="http" type="http" location="DE" preference="90">http://b.example/pub/repo/summary</url>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" xmlns:mm0="http://fedorahosted.org/mirrormanager">
  <!-- generated -->
  ${opts.before ?? ''}
  <files>
    <file name="${opts.file ?? 'summary'}">
      <mm0:timestamp>1700000000</mm0:timestamp>
      <size>${opts.size ?? body.length}</size>
      <verification>${hashes}</verification>
      <resources maxconnections="1">
       ${urls}
      </resources>
    </file>
  </files>
  ${opts.after ?? ''}
</metalink>
`;
}

function refused(doc: string | Uint8Array, pattern: RegExp, file = 'summary'): void {
  let err: unknown = null;
  try {
    parseMetalink(typeof doc === 'string' ? enc(doc) : doc, file);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(XylemError);
  expect((err as Error).message).toMatch(pattern);
}

describe('metalink: valid documents', () => {
  it('reads size, both digests and the http(s) URLs in document order', () => {
    const m = parseMetalink(enc(metalink()), 'summary');
    expect(m.size).toBe(body.length);
    expect(m.sha256).toBe(sha256);
    expect(m.sha512).toBe(sha512);
    expect(m.urls).toEqual([
      { url: 'https://a.example/repo/summary', preference: 100 },
      { url: 'http://b.example/pub/repo/summary', preference: 90 },
    ]);
    expect(() => checkMetalinkBody(m, body)).not.toThrow();
  });

  it('skips unknown nested elements, other files, and non-http resources', () => {
    const nested = '<deeply><nested><unknown><data>hello <b>world</b></data></unknown></nested></deeply>';
    const doc = metalink({
      before: `${nested}<files><file name="other"><size>1</size></file></files>`,
      after: nested,
      urls: `<url protocol="rsync" type="rsync">rsync://c.example/repo/summary</url>
             <url protocol="ftp">ftp://d.example/summary</url>
             <url protocol="http">file:///etc/passwd</url>
             <url protocol="http">http://e.example/r/summary</url>`,
    });
    // The first <files> holds another file only: ours is found in the second.
    const m = parseMetalink(enc(doc), 'summary');
    expect(m.urls.map((u) => u.url)).toEqual(['http://e.example/r/summary']);
  });

  it('accepts entities, character references, CDATA and a UTF-8 BOM in text', () => {
    const doc = '\ufeff' + metalink({ urls: `<url protocol="http"><![CDATA[http://x.example/a]]>/b?x=1&amp;y=&#50;/summary</url>` });
    expect(parseMetalink(enc(doc), 'summary').urls[0]!.url).toBe('http://x.example/a/b?x=1&y=2/summary');
  });

  it('checks a body with sha512 when given, else sha256, and its size first', () => {
    const m = parseMetalink(enc(metalink()), 'summary');
    const other = enc('pretend this is a summary filE\n');
    expect(() => checkMetalinkBody(m, other)).toThrow(`Expected checksum is ${sha512} but actual is ${createHash('sha512').update(other).digest('hex')}`);
    expect(() => checkMetalinkBody(m, enc('moo'))).toThrow(`Expected size is ${body.length} bytes but content is 3 bytes`);
    const only256 = parseMetalink(enc(metalink({ hashes: `<hash type="sha256">${sha256}</hash>` })), 'summary');
    expect(only256.sha512).toBeNull();
    expect(() => checkMetalinkBody(only256, other)).toThrow(`Expected checksum is ${sha256} but actual is ${createHash('sha256').update(other).digest('hex')}`);
  });

  it('gives the folder of a target URL as its base', () => {
    expect(urlDirname('http://127.0.0.1:8080/ostree/gnomerepo/summary')).toBe('http://127.0.0.1:8080/ostree/gnomerepo');
    expect(urlDirname('https://h.example/summary?x=1')).toBe('https://h.example/');
  });
});

describe('metalink: libostree errors', () => {
  it('names what is missing or malformed', () => {
    refused('bacon', /Document must begin with an element/);
    refused('', /Document was empty/);
    refused(metalink({ file: 'other' }), /No <file name='summary'> found/);
    expect(() => parseMetalink(enc(metalink({ file: 'other' })), 'summary')).toThrow(NotFoundError);
    refused('<metalink><files></files></metalink>', /No <file> element found/);
    refused(metalink({ size: '0' }), /No <size> element found or it is zero/);
    refused(metalink({ hashes: '<hash type="md5">abc</hash>' }), /No <verification> element with known <hash type=> found/);
    refused(metalink({ hashes: `<hash type="sha256">${sha256}</hash><hash type="md5">abc</hash>` }), /No <verification> element with known/);
    refused(metalink({ urls: '' }), /No <url method='http'> elements found/);
    refused(metalink({ urls: '<url protocol="http" foo="1">http://a/summary</url>' }), /attribute 'foo' invalid for element 'url'/);
    refused(metalink({ urls: '<url>http://a/summary</url>' }), /element 'url' requires attribute 'protocol'/);
  });

  it('refuses bad digests: wrong length, not hex, upper case, padded inside', () => {
    refused(metalink({ hashes: '<hash type="sha512">bacon</hash>' }), /Invalid hash digest for sha512/);
    refused(metalink({ hashes: `<hash type="sha256">${sha256.slice(1)}</hash>` }), /Invalid hash digest for sha256/);
    refused(metalink({ hashes: `<hash type="sha256">${sha256.toUpperCase()}</hash>` }), /Invalid hash digest for sha256/);
    refused(metalink({ hashes: `<hash type="sha256">${sha256.slice(0, 32)} ${sha256.slice(32)}</hash>` }), /Invalid hash digest for sha256/);
    refused(metalink({ hashes: `<hash type="sha512">${sha512}0</hash>` }), /Invalid hash digest for sha512/);
  });
});

describe('metalink: hostile documents', () => {
  it('refuses a document over the size cap before decoding it', () => {
    const huge = new Uint8Array(MAX_METALINK_SIZE + 1).fill(0x20);
    refused(huge, /more than the limit/);
  });

  it('refuses deep nesting without recursing', () => {
    const deep = '<metalink>' + '<a>'.repeat(100_000) + '</a>'.repeat(100_000) + '</metalink>';
    refused(deep, /nested more than 32 deep/);
  });

  it('refuses DOCTYPEs: no entity definitions, internal or external', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>' +
      '<metalink>&lol2;</metalink>';
    refused(laughs, /DOCTYPE and other declarations are not allowed/);
    const xxe = '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><metalink>&xxe;</metalink>';
    refused(xxe, /DOCTYPE/);
  });

  it('refuses undefined entities, bare ampersands and invalid character references', () => {
    refused('<metalink>&xxe;</metalink>', /Entity '&xxe;' is not allowed/);
    refused('<metalink a="&xxe;"/>', /Entity '&xxe;' is not allowed/);
    refused('<metalink>fish & chips</metalink>', /must start an entity reference/);
    refused('<metalink>&#0;</metalink>', /not a valid character/);
    refused('<metalink>&#x110000;</metalink>', /not a valid character/);
    refused('<metalink>&#xD800;</metalink>', /not a valid character/);
  });

  it('refuses malformed structure, invalid UTF-8 and too many attributes', () => {
    refused('<metalink><files></metalink>', /closed, but the open element is 'files'/);
    refused('<metalink><files>', /ended unexpectedly/);
    refused('<metalink></metalink><metalink/>', /Only one document element/);
    refused('<metalink></metalink>junk', /Text after the document element/);
    refused('<metalink a="1" a="2"/>', /given twice/);
    refused('<metalink a="<"/>', /'<' in the value/);
    refused('<metalink><!-- never closed </metalink>', /Unterminated comment/);
    refused(new Uint8Array([0x3c, 0x6d, 0x3e, 0xff, 0x3c, 0x2f, 0x6d, 0x3e]), /not valid UTF-8/);
    const attrs = Array.from({ length: 40 }, (_, i) => `a${i}="x"`).join(' ');
    refused(`<metalink ${attrs}/>`, /More than 32 attributes/);
  });

  it('names the line and column of a syntax error', () => {
    refused('<metalink>\n  <files>\n  </file>\n</metalink>', /^line 3, column 3: /);
  });

  it('bounds the element count', () => {
    const many = '<m>' + '<x/>'.repeat(50) + '</m>';
    const events: string[] = [];
    expect(() => parseXml(enc(many), { start: (n) => events.push(n), end: () => {}, text: () => {} }, { maxElements: 20 })).toThrow(/More than 20 elements/);
    expect(events.length).toBe(20);
  });
});

describe('fetching a metalink target', () => {
  const docs = new Map<string, Uint8Array>();
  const fetcher: RemoteFetcher = {
    async fetch(url) {
      if (url.includes('broken')) throw new XylemError(`While fetching ${url}: Server returned HTTP 500`);
      return docs.get(url) ?? null;
    },
  };

  it('tries each URL in order until size and checksum match; answers the bases', async () => {
    docs.set('http://m/metalink.xml', enc(metalink({
      urls: `<url protocol="http">http://a/r/summary.bad</url><url protocol="http">http://broken/r/summary</url>
             <url protocol="http">http://a/none/summary</url><url protocol="http">http://c/r/summary</url>`,
    })));
    docs.set('http://a/r/summary.bad', enc('broken'));
    docs.set('http://c/r/summary', body);
    const got = await fetchMetalinkTarget(fetcher, 'http://m/metalink.xml', 'summary', 1 << 20);
    expect(got.url).toBe('http://c/r/summary');
    expect(got.bytes).toEqual(body);
    expect(got.baseUrls).toEqual(['http://c/r', 'http://a/r', 'http://broken/r', 'http://a/none']);
  });

  it('reports the last error when every target fails', async () => {
    docs.set('http://m/bad.xml', enc(metalink({ urls: `<url protocol="http">http://a/r/summary.bad</url><url protocol="http">http://broken/x</url>` })));
    await expect(fetchMetalinkTarget(fetcher, 'http://m/bad.xml', 'summary', 1 << 20)).rejects.toThrow(
      'Exhausted 2 metalink targets, last error: While fetching http://broken/x: Server returned HTTP 500',
    );
    await expect(fetchMetalinkTarget(fetcher, 'http://m/missing.xml', 'summary', 1 << 20)).rejects.toThrow(NotFoundError);
  });
});

describe('mirrorlists', () => {
  it('keeps http(s) lines, skipping blanks, comments and other schemes', () => {
    const text = '\n# comment\n\nhttp://a/repo\r\n  \nfile:///srv/repo\nftp://x/y\nhttps://b/repo  \nnot a url\nhttp://\n';
    expect(parseMirrorlist(text)).toEqual(['http://a/repo', 'https://b/repo']);
  });

  it('probes mirrors for config until one works, keeping the rest unprobed', async () => {
    const asked: string[] = [];
    const fetcher: RemoteFetcher = {
      async fetch(url) {
        asked.push(url);
        if (url === 'http://m/list') return enc('http://dead/repo\nhttp://gone/repo\nhttp://good/repo/\nhttp://later/repo\n');
        if (url === 'http://dead/repo/config') throw new XylemError('connection refused');
        if (url === 'http://good/repo/config') return enc('[core]\n');
        return null;
      },
    };
    expect(await resolveMirrorlist(fetcher, 'mirrorlist=http://m/list')).toEqual(['http://good/repo/', 'http://later/repo']);
    expect(asked).toEqual(['http://m/list', 'http://dead/repo/config', 'http://gone/repo/config', 'http://good/repo/config']);
  });

  it('fails naming the list when it is missing or has no working mirror', async () => {
    const fetcher: RemoteFetcher = { fetch: async (url) => (url === 'http://m/list' ? enc('# none\nhttp://dead/r\n') : null) };
    await expect(resolveMirrorlist(fetcher, 'mirrorlist=http://m/list')).rejects.toThrow("No valid mirrors were found in mirrorlist 'http://m/list'");
    await expect(resolveMirrorlist(fetcher, 'mirrorlist=http://m/other')).rejects.toThrow("While fetching mirrorlist 'http://m/other': Server returned HTTP 404");
  });
});
