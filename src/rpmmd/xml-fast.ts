// A byte-level streaming XML reader specialised for rpm-md's big documents (primary.xml,
// filelists.xml, other.xml): the same contract, caps and refusals as xml-stream.ts (the saxes
// reader it mirrors event for event), but it scans the UTF-8 bytes directly instead of decoding
// every chunk into a string and walking it character by character. Short ASCII names and values
// (element and attribute names, dependency names, flags, versions, arches) come out of a bounded
// direct-mapped intern cache, so the same text read 100,000 times is one string: no allocation on
// a hit, and the string's hash is computed once for whoever puts it in a Map later (libsolv's
// repo_rpmmd.c gets the same effect from its string pool). Hostile input is handled as in
// xml-stream.ts: a DOCTYPE is refused, only the five predefined entities and character references
// are expanded, depth, attribute count and length, text per element and total size are capped, the
// bytes must be UTF-8, and errors are XylemErrors naming the file, line and column.

import { XylemError } from '../util/errors.ts';
import { Refusal, positiveLimit, type XmlStreamHandler, type XmlStreamOptions } from './xml-stream.ts';

/** Bytes handed to the scanner at once: bounds the work (and the handler's queue) between flushes. */
const SLICE = 64 * 1024;
/** Intern cache: direct-mapped slots and the longest string it keeps. */
const CACHE_BITS = 16;
const CACHE_MAX_LEN = 48;
/** Longest name (element, attribute, PI target) and longest pending PI. */
const MAX_NAME = 4096;
const MAX_PI = 64 * 1024;

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SLASH = 0x2f;
const BANG = 0x21;
const QM = 0x3f;
const EQ = 0x3d;
const DQ = 0x22;
const SQ = 0x27;
const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;
const SP = 0x20;
const EMPTY = new Uint8Array(0);

const DOCTYPE_REFUSED = 'a DOCTYPE is not allowed in rpm-md metadata (entity declarations are refused)';

const limit = (v: number | undefined, dflt: number, name: string): number => positiveLimit(v, dflt, name, 'parseXmlFast');

const isWs = (b: number): boolean => b === SP || b === LF || b === TAB || b === CR;
/** Name characters: ASCII letters, digits, `-._:`, and any non-ASCII byte (checked as UTF-8 elsewhere). */
const isNameStart = (b: number): boolean => (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f || b === 0x3a || b >= 0x80;
const isNameChar = (b: number): boolean => isNameStart(b) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e;

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Parses the XML document in `chunks` like parseXmlStream (same handler calls with the same
 * names, attributes and text, same caps and error codes), faster on large documents.
 */
export async function parseXmlFast(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, handler: XmlStreamHandler, opts: XmlStreamOptions): Promise<void> {
  if (chunks === null || typeof chunks !== 'object') throw new TypeError('parseXmlFast: chunks must be an iterable of Uint8Array');
  if (typeof handler?.start !== 'function' || typeof handler.end !== 'function' || typeof handler.text !== 'function')
    throw new TypeError('parseXmlFast: handler needs start, end and text');
  if (typeof opts?.fileName !== 'string' || opts.fileName === '') throw new TypeError('parseXmlFast: opts.fileName is required');
  const l = opts.limits ?? {};
  const maxDepth = limit(l.maxDepth, 64, 'maxDepth');
  const maxAttributes = limit(l.maxAttributes, 64, 'maxAttributes');
  const maxAttributeLength = limit(l.maxAttributeLength, 256 * 1024, 'maxAttributeLength');
  const maxTextLength = limit(l.maxTextLength, 16 * 1024 * 1024, 'maxTextLength');
  const maxTotalBytes = limit(l.maxTotalBytes, 8 * 1024 * 1024 * 1024, 'maxTotalBytes');
  const file = opts.fileName;

  const cache: (string | undefined)[] = new Array(1 << CACHE_BITS);
  const mask = (1 << CACHE_BITS) - 1;
  const decoder = new TextDecoder('utf-8');

  // Position, for errors: lines and column of the bytes already dropped, plus the current buffer.
  let linesBefore = 0;
  let colCarry = 0;
  let buf: Uint8Array = EMPTY;
  let mark = 0;
  let absBase = 0; // absolute offset of buf[0]

  let depth = 0;
  const stack: string[] = [];
  let sawRoot = false;
  let rootClosed = false;
  let textRun = 0;
  let inCdata = false;
  let inComment = false;
  /** 3 when the document starts with a UTF-8 byte order mark. */
  let bomLen = 0;

  const where = (): string => {
    let line = linesBefore;
    let lastNl = -1;
    const end = Math.min(mark, buf.length);
    for (let i = buf.indexOf(LF); i >= 0 && i < end; i = buf.indexOf(LF, i + 1)) {
      line++;
      lastNl = i;
    }
    const col = lastNl < 0 ? colCarry + end : end - lastNl - 1;
    return `${file}:${line + 1}:${col + 1}`;
  };
  const refuse = (msg: string, code = 'EINVAL'): never => {
    throw new Refusal(new XylemError(`${where()}: ${msg}`, code));
  };
  const bad = (at: number, msg: string): never => {
    mark = at;
    return refuse(msg);
  };

  /** Text of [a, b) with no entity, CR or tab to rewrite; short ASCII strings come from the cache. */
  const str = (a: number, b: number): string => {
    const u = buf;
    const len = b - a;
    if (len === 0) return '';
    if (len <= CACHE_MAX_LEN) {
      let h = 0x811c9dc5;
      let hi = 0;
      for (let i = a; i < b; i++) {
        const x = u[i]!;
        hi |= x;
        h = Math.imul(h ^ x, 16777619);
      }
      if (hi < 0x80) {
        const slot = (h ^ (h >>> 16)) & mask;
        const s = cache[slot];
        if (s !== undefined && s.length === len) {
          let i = 0;
          while (i < len && s.charCodeAt(i) === u[a + i]) i++;
          if (i === len) return s;
        }
        const t = decoder.decode(u.subarray(a, b));
        cache[slot] = t;
        return t;
      }
    }
    return decoder.decode(u.subarray(a, b));
  };

  /** Expands `&…;` references in `s` (decoded text); `at` locates errors. */
  const expand = (s: string, at: number): string => {
    let out = '';
    let i = 0;
    for (let j = s.indexOf('&'); j >= 0; j = s.indexOf('&', i)) {
      out += s.slice(i, j);
      const k = s.indexOf(';', j + 1);
      if (k < 0) bad(at, 'unterminated entity or character reference');
      const ref = s.slice(j + 1, k);
      if (ref.charCodeAt(0) === 0x23) {
        const hex = ref.charCodeAt(1) === 0x78;
        const digits = ref.slice(hex ? 2 : 1);
        if (digits === '' || digits.length > 8 || !(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) bad(at, `malformed character reference '&${ref.slice(0, 20)};'`);
        const cp = parseInt(digits, hex ? 16 : 10);
        const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
        if (!ok) bad(at, `character reference '&${ref.slice(0, 20)};' is not an XML character`);
        out += String.fromCodePoint(cp);
      } else {
        const v = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
        if (v === undefined) bad(at, `undefined entity '&${ref.slice(0, 40)};' (only the predefined ones are known)`);
        out += v;
      }
      i = k + 1;
    }
    return i === 0 ? s : out + s.slice(i);
  };

  /** `cut`, moved back to the start of a UTF-8 sequence that [cut…) would split. */
  const utf8Cut = (p: number, cut: number): number => {
    const u = buf;
    let j = cut;
    while (j > p && cut - j < 3 && (u[j - 1]! & 0xc0) === 0x80) j--;
    if (j > p && u[j - 1]! >= 0xc0) {
      const lead = u[j - 1]!;
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
      if (cut - (j - 1) < need) return j - 1;
    }
    return cut;
  };

  const emitText = (s: string): void => {
    textRun += s.length;
    if (textRun > maxTextLength) refuse(`text of an element is longer than the limit of ${maxTextLength} characters`, 'ETOOBIG');
    handler.text(s);
  };

  /** Text from `p` up to the next `<`; returns where it stopped (p when it needs more bytes). */
  const scanText = (p: number, final: boolean): number => {
    const u = buf;
    const n = u.length;
    let i = p;
    let amp = false;
    let cr = false;
    let other = false;
    for (; i < n; i++) {
      const b = u[i]!;
      if (b === LT) break;
      if (b < 0x21) {
        if (b === CR) cr = true;
        else if (b !== LF && b !== TAB && b !== SP) bad(i, `character 0x${b.toString(16)} is not allowed in XML`);
      } else {
        other = true;
        if (b === AMP) amp = true;
        else if (b === GT && i >= p + 2 && u[i - 1] === 0x5d && u[i - 2] === 0x5d) bad(i, "']]>' is not allowed in text");
      }
    }
    let cut = i;
    if (i === n && !final) {
      // Keep an incomplete tail (UTF-8 sequence, CR before LF, reference, `]]`) for the next bytes.
      cut = utf8Cut(p, cut);
      for (let k = 0; k < 3 && cut > p && (u[cut - 1] === CR || u[cut - 1] === 0x5d); k++) cut--;
      if (amp) {
        const a = u.lastIndexOf(AMP, cut - 1);
        const semi = a >= p ? u.indexOf(0x3b, a) : -1;
        if (a >= Math.max(p, cut - 40) && (semi < 0 || semi >= cut)) cut = a;
      }
      if (cut === p) return p;
    }
    if (depth === 0) {
      if (other) bad(p, rootClosed ? 'text data outside of the root element' : 'text data before the root element');
      return cut;
    }
    mark = p;
    if (!amp && !cr) emitText(str(p, cut));
    else {
      let s = decoder.decode(u.subarray(p, cut));
      if (cr) s = s.replace(/\r\n?/g, '\n');
      if (amp) s = expand(s, p);
      emitText(s);
    }
    return cut;
  };

  /** End of the name starting at `i` (-1: runs off the buffer). */
  const nameEnd = (i: number): number => {
    const u = buf;
    const n = u.length;
    if (i >= n) return -1;
    if (!isNameStart(u[i]!)) bad(i, `unexpected character '${String.fromCharCode(u[i]!)}' where a name should start`);
    let j = i + 1;
    while (j < n && isNameChar(u[j]!)) j++;
    if (j - i > MAX_NAME) bad(i, `a name is longer than ${MAX_NAME} characters`);
    return j === n ? -1 : j;
  };
  const skipWs = (i: number): number => {
    const u = buf;
    const n = u.length;
    while (i < n && isWs(u[i]!)) i++;
    return i;
  };

  const startTag = (p: number): number => {
    const u = buf;
    const n = u.length;
    let i = nameEnd(p + 1);
    if (i < 0) return -1;
    const name = str(p + 1, i);
    const attrs: Record<string, string> = {};
    let count = 0;
    let selfClose = false;
    for (;;) {
      const j = skipWs(i);
      if (j >= n) return -1;
      const b = u[j]!;
      if (b === GT) {
        i = j + 1;
        break;
      }
      if (b === SLASH) {
        if (j + 1 >= n) return -1;
        if (u[j + 1] !== GT) bad(j, "expected '>' after '/' in a tag");
        selfClose = true;
        i = j + 2;
        break;
      }
      if (j === i) bad(j, 'attributes must be separated by whitespace');
      const ne = nameEnd(j);
      if (ne < 0) return -1;
      let k = skipWs(ne);
      if (k >= n) return -1;
      if (u[k] !== EQ) bad(k, 'attribute without a value');
      k = skipWs(k + 1);
      if (k >= n) return -1;
      const q = u[k]!;
      if (q !== DQ && q !== SQ) bad(k, 'attribute value must be quoted');
      const vs = k + 1;
      let amp = false;
      let ws = false;
      let e = vs;
      for (; e < n; e++) {
        const c = u[e]!;
        if (c === q) break;
        if (c < 0x20) {
          if (c === CR || c === LF || c === TAB) ws = true;
          else bad(e, `character 0x${c.toString(16)} is not allowed in XML`);
        } else if (c === AMP) amp = true;
        else if (c === LT) bad(e, "'<' is not allowed in an attribute value");
      }
      if (e >= n) {
        if (e - vs > maxAttributeLength && decoder.decode(u.subarray(vs, e)).length > maxAttributeLength) {
          mark = vs;
          refuse(`an attribute value is longer than the limit of ${maxAttributeLength} characters`, 'ETOOBIG');
        }
        return -1;
      }
      const key = str(j, ne);
      let v: string;
      if (!amp && !ws) v = str(vs, e);
      else {
        v = decoder.decode(u.subarray(vs, e));
        if (ws) v = v.replace(/\r\n|[\r\n\t]/g, ' ');
        if (amp) v = expand(v, vs);
      }
      mark = j;
      if (++count > maxAttributes) refuse(`an element has more than the limit of ${maxAttributes} attributes`, 'ETOOBIG');
      if (v.length > maxAttributeLength) refuse(`attribute '${key}' is longer than the limit of ${maxAttributeLength} characters`, 'ETOOBIG');
      if (Object.hasOwn(attrs, key)) refuse(`duplicate attribute '${key}'`);
      if (key === '__proto__') Object.defineProperty(attrs, key, { value: v, enumerable: true, writable: true, configurable: true });
      else attrs[key] = v;
      i = e + 1;
    }
    mark = p;
    if (rootClosed) refuse('a second root element (a document has exactly one)');
    if (++depth > maxDepth) refuse(`elements nest deeper than the limit of ${maxDepth}`, 'ETOOBIG');
    sawRoot = true;
    textRun = 0;
    stack.push(name);
    handler.start(name, attrs);
    if (selfClose) {
      depth--;
      stack.pop();
      textRun = 0;
      if (depth === 0) rootClosed = true;
      handler.end(name);
    }
    return i;
  };

  const endTag = (p: number): number => {
    const ne = nameEnd(p + 2);
    if (ne < 0) return -1;
    const k = skipWs(ne);
    if (k >= buf.length) return -1;
    if (buf[k] !== GT) bad(k, "expected '>' to end a closing tag");
    mark = p;
    const top = stack.length > 0 ? stack[stack.length - 1]! : undefined;
    const name = str(p + 2, ne);
    if (top === undefined) refuse(`closing tag </${name}> matches no open element`);
    if (name !== top) refuse(`closing tag </${name}> does not match <${top}>`);
    stack.pop();
    depth--;
    textRun = 0;
    if (depth === 0) rootClosed = true;
    handler.end(name);
    return k + 1;
  };

  /** Inside a comment from `p` (after `<!--`): its end, or -1 having consumed up to a safe point. */
  const commentBody = (p: number): number => {
    const n = buf.length;
    for (let i = buf.indexOf(0x2d, p); i >= 0; i = buf.indexOf(0x2d, i + 1)) {
      if (i + 1 >= n) break;
      if (buf[i + 1] !== 0x2d) continue;
      if (i + 2 >= n) break;
      if (buf[i + 2] !== GT) bad(i, "'--' is not allowed inside a comment");
      inComment = false;
      return i + 3;
    }
    return -1;
  };
  /** CDATA content from `p` (after `<![CDATA[`): emitted as text; its end, or -1. */
  const cdataBody = (p: number, final: boolean): number => {
    const n = buf.length;
    const e = buf.indexOf(0x5d, p);
    let end = -1;
    for (let i = e; i >= 0; i = buf.indexOf(0x5d, i + 1)) {
      if (i + 2 < n && buf[i + 1] === 0x5d && buf[i + 2] === GT) {
        end = i;
        break;
      }
      if (i + 2 >= n) break;
    }
    let cut = end >= 0 ? end : n;
    if (end < 0) {
      if (final) bad(p, 'document ends inside a CDATA section');
      cut = utf8Cut(p, cut);
      for (let k = 0; k < 3 && cut > p && (buf[cut - 1] === 0x5d || buf[cut - 1] === CR); k++) cut--;
    }
    if (cut > p) {
      mark = p;
      for (let i = p; i < cut; i++) {
        const c = buf[i]!;
        if (c < 0x20 && c !== CR && c !== LF && c !== TAB) bad(i, `character 0x${c.toString(16)} is not allowed in XML`);
      }
      let s = decoder.decode(buf.subarray(p, cut));
      if (s.includes('\r')) s = s.replace(/\r\n?/g, '\n');
      emitText(s);
    }
    if (end < 0) return -(cut + 2); // resume inside the section at `cut`
    inCdata = false;
    return end + 3;
  };

  const bang = (p: number, final: boolean): number => {
    const n = buf.length;
    if (p + 2 >= n) return -1;
    const c = buf[p + 2]!;
    if (c === 0x44 || c === 0x64) refuse(DOCTYPE_REFUSED); // <!D…
    if (c === 0x2d) {
      if (p + 3 >= n) return -1;
      if (buf[p + 3] !== 0x2d) bad(p, "malformed comment (expected '<!--')");
      inComment = true;
      const r = commentBody(p + 4);
      return r >= 0 ? r : -2;
    }
    if (c === 0x5b) {
      const open = '<![CDATA[';
      for (let i = 0; i < open.length; i++) {
        if (p + i >= n) return -1;
        if (buf[p + i] !== open.charCodeAt(i)) bad(p, 'malformed CDATA section');
      }
      if (depth === 0) bad(p, 'CDATA outside of the root element');
      inCdata = true;
      return cdataBody(p + 9, final);
    }
    return bad(p, "unexpected markup '<!'");
  };

  const pi = (p: number): number => {
    const n = buf.length;
    let end = -1;
    for (let i = buf.indexOf(QM, p + 2); i >= 0 && i + 1 < n; i = buf.indexOf(QM, i + 1))
      if (buf[i + 1] === GT) {
        end = i;
        break;
      }
    if (end < 0) {
      if (n - p > MAX_PI) bad(p, `a processing instruction is longer than ${MAX_PI} bytes`);
      return -1;
    }
    const ne = nameEnd(p + 2);
    if (ne < 0 || ne > end + 1) bad(p, 'processing instruction without a target');
    const target = str(p + 2, Math.min(ne, end));
    if (target.toLowerCase() === 'xml') {
      if (target !== 'xml' || absBase + p !== bomLen) bad(p, 'an XML declaration is only allowed at the start of the document');
      const body = decoder.decode(buf.subarray(ne, end));
      const m = /\bencoding\s*=\s*(["'])([^"']*)\1/.exec(body);
      if (m && !/^utf-?8$/i.test(m[2]!)) bad(p, `unsupported document encoding '${m[2]}' (only UTF-8 is read)`);
      if (!/^\s+version\s*=\s*(["'])1\.[0-9]+\1(\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(\s+standalone\s*=\s*(["'])(yes|no)\5)?\s*$/.test(body))
        bad(p, 'malformed XML declaration');
    }
    return end + 2;
  };

  /** Scans `buf` from the start; returns the bytes consumed. */
  const scan = (final: boolean): number => {
    const n = buf.length;
    let p = 0;
    if (absBase === 0 && n > 0 && buf[0] === 0xef) {
      if (n < 3 && !final) return 0;
      if (buf[1] === 0xbb && buf[2] === 0xbf) p = bomLen = 3;
    }
    if (inComment) {
      const r = commentBody(0);
      if (r < 0) return Math.max(0, n - 2);
      p = r;
    } else if (inCdata) {
      const r = cdataBody(0, final);
      if (r < 0) return -r - 2;
      p = r;
    }
    while (p < n) {
      if (buf[p] !== LT) {
        const q = scanText(p, final);
        if (q === p) break;
        p = q;
        continue;
      }
      mark = p;
      if (p + 1 >= n) break;
      const d = buf[p + 1]!;
      let q: number;
      if (d === SLASH) q = endTag(p);
      else if (d === BANG) {
        q = bang(p, final);
        if (q === -2) return Math.max(p + 4, n - 2); // inside a comment: drop what is skipped
        if (q < -2) return -q - 2; // inside a CDATA section
      } else if (d === QM) q = pi(p);
      else q = startTag(p);
      if (q < 0) break;
      p = q;
    }
    return p;
  };

  let pending: Uint8Array = EMPTY;
  let waiting: Uint8Array[] = [];
  let waitingBytes = 0;
  const step = (slice: Uint8Array, final: boolean): void => {
    // A big incomplete token is rescanned only once the input has doubled it: no quadratic work.
    if (!final && pending.length > SLICE && waitingBytes + slice.length < pending.length) {
      waiting.push(slice.slice());
      waitingBytes += slice.length;
      return;
    }
    const parts = [pending, ...waiting, slice];
    const total = pending.length + waitingBytes + slice.length;
    if (parts.length === 2 && pending.length === 0) buf = slice;
    else {
      buf = new Uint8Array(total);
      let o = 0;
      for (const x of parts) {
        buf.set(x, o);
        o += x.length;
      }
    }
    waiting = [];
    waitingBytes = 0;
    const used = scan(final);
    if (final && used < buf.length) {
      mark = used;
      refuse(inComment ? 'document ends inside a comment' : 'document ends in the middle of markup');
    }
    // Account the dropped bytes for line/column numbers.
    let lastNl = -1;
    for (let i = buf.indexOf(LF); i >= 0 && i < used; i = buf.indexOf(LF, i + 1)) {
      linesBefore++;
      lastNl = i;
    }
    colCarry = lastNl < 0 ? colCarry + used : used - lastNl - 1;
    absBase += used;
    pending = used < buf.length ? buf.slice(used) : EMPTY;
    buf = EMPTY;
    mark = 0;
  };

  const validator = new TextDecoder('utf-8', { fatal: true });
  let total = 0;
  try {
    for await (const chunk of chunks as AsyncIterable<Uint8Array>) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError(`parseXmlFast: ${file}: chunks must be Uint8Array`);
      total += chunk.length;
      if (total > maxTotalBytes) refuse(`document is larger than the limit of ${maxTotalBytes} bytes`, 'ETOOBIG');
      for (let off = 0; off < chunk.length; off += SLICE) {
        const slice = chunk.subarray(off, Math.min(off + SLICE, chunk.length));
        let text = '';
        try {
          text = validator.decode(slice, { stream: true });
        } catch {
          refuse('document is not valid UTF-8');
        }
        if (text.includes('\uFFFE') || text.includes('\uFFFF')) refuse('disallowed character U+FFFE or U+FFFF');
        step(slice, false);
        if (handler.flush) await handler.flush();
      }
    }
    try {
      validator.decode();
    } catch {
      refuse('document is not valid UTF-8 (truncated sequence at its end)');
    }
    if (total === 0) refuse('document is empty');
    step(EMPTY, true);
    if (inComment) refuse('document ends inside a comment');
    if (inCdata) refuse('document ends inside a CDATA section');
    if (!sawRoot) refuse('document has no root element');
    if (depth > 0) refuse(`document ends inside <${stack[stack.length - 1]}>`);
    if (handler.flush) await handler.flush();
  } catch (e) {
    if (e instanceof Refusal) throw e.error;
    if (e instanceof XylemError) throw new XylemError(e.message.startsWith(`${file}:`) ? e.message : `${where()}: ${e.message}`, e.code);
    throw e;
  }
}
