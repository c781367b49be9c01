// A small XML reader for metalink files (the subset GLib's GMarkup reads for libostree's
// ostree-metalink.c): elements, attributes, text, CDATA, comments and processing instructions,
// reported as start/end/text events. Input is hostile: its size is capped before decoding, nesting
// and attribute counts are bounded, only the five predefined entities and character references
// are expanded, and a DOCTYPE is refused, so there are no internal or external entities to expand.

import { XylemError } from '../util/errors.ts';

export interface XmlHandler {
  start(name: string, attrs: ReadonlyMap<string, string>): void;
  end(name: string): void;
  text(text: string): void;
}

export interface XmlLimits {
  /** Bytes of input accepted (default 1 MiB). */
  maxBytes?: number;
  /** Elements open at once (default 32). */
  maxDepth?: number;
  /** Attributes on one element (default 32). */
  maxAttributes?: number;
  /** Elements in the whole document (default 100,000). */
  maxElements?: number;
}

export const XML_DEFAULT_MAX_BYTES = 1024 * 1024;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const SPACE = /[ \t\r\n]*/y;

/** Parses `input`, calling `handler` as it goes; throws a XylemError naming line and column. */
export function parseXml(input: Uint8Array, handler: XmlHandler, limits: XmlLimits = {}): void {
  if (!(input instanceof Uint8Array)) throw new TypeError('parseXml: input must be a Uint8Array');
  const maxBytes = limits.maxBytes ?? XML_DEFAULT_MAX_BYTES;
  const maxDepth = limits.maxDepth ?? 32;
  const maxAttributes = limits.maxAttributes ?? 32;
  const maxElements = limits.maxElements ?? 100_000;
  if (input.length > maxBytes) throw new XylemError(`XML document is ${input.length} bytes, more than the limit of ${maxBytes}`, 'ETOOBIG');
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw new XylemError('XML document is not valid UTF-8', 'EINVAL');
  }
  let i = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: string[] = [];
  let rootSeen = false;
  let elements = 0;
  let text = '';

  const fail = (msg: string, at = i): never => {
    let line = 1;
    let col = 1;
    for (let k = 0; k < at && k < s.length; k++) {
      if (s.charCodeAt(k) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    throw new XylemError(`line ${line}, column ${col}: ${msg}`, 'EINVAL');
  };
  const flushText = () => {
    if (text === '') return;
    if (stack.length > 0) handler.text(text);
    else if (/[^ \t\r\n]/.test(text)) fail(rootSeen ? 'Text after the document element' : 'Document must begin with an element (e.g. <book>)');
    text = '';
  };
  const skipSpace = () => {
    SPACE.lastIndex = i;
    SPACE.exec(s);
    i = SPACE.lastIndex;
  };
  const readName = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(s);
    if (!m) fail(`Expected a name, found '${s.slice(i, i + 1) || 'end of document'}'`);
    i = NAME.lastIndex;
    return m![0];
  };
  /** Expands entity and character references in a run of text or an attribute value. */
  const expand = (raw: string, at: number): string => {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;&<]{0,16});?/g, (whole, ref: string, off: number) => {
      if (!whole.endsWith(';')) fail("'&' must start an entity reference ending with ';'", at + off);
      if (ref in PREDEFINED) return PREDEFINED[ref]!;
      const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
      if (m) {
        const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
        const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0x10ffff && cp !== 0xfffe && cp !== 0xffff);
        if (!ok) fail(`Character reference '&${ref};' is not a valid character`, at + off);
        return String.fromCodePoint(cp);
      }
      return fail(`Entity '&${ref};' is not allowed (only &lt; &gt; &amp; &quot; &apos; and character references)`, at + off);
    });
  };

  while (i < s.length) {
    const lt = s.indexOf('<', i);
    if (lt !== i) {
      const end = lt < 0 ? s.length : lt;
      const raw = s.slice(i, end);
      if (raw.includes(']]>')) fail("']]>' is not allowed in text", i + raw.indexOf(']]>'));
      text += expand(raw, i);
      i = end;
      continue;
    }
    if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      if (end < 0) fail('Unterminated comment');
      i = end + 3;
      continue;
    }
    if (s.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) fail('CDATA outside the document element');
      const end = s.indexOf(']]>', i + 9);
      if (end < 0) fail('Unterminated CDATA section');
      text += s.slice(i + 9, end);
      i = end + 3;
      continue;
    }
    if (s.startsWith('<!', i)) fail('DOCTYPE and other declarations are not allowed (no entity definitions are accepted)');
    if (s.startsWith('<?', i)) {
      const end = s.indexOf('?>', i + 2);
      if (end < 0) fail('Unterminated processing instruction');
      i = end + 2;
      continue;
    }
    flushText();
    if (s.startsWith('</', i)) {
      const at = i;
      i += 2;
      const name = readName();
      skipSpace();
      if (s[i] !== '>') fail(`Expected '>' to close the element '${name}'`);
      i++;
      const open = stack.pop();
      if (open !== name) fail(open === undefined ? `Element '${name}' was closed, but no element is open` : `Element '${name}' was closed, but the open element is '${open}'`, at);
      handler.end(name);
      continue;
    }
    // A start tag.
    const at = i;
    i++;
    const name = readName();
    if (stack.length === 0 && rootSeen) fail('Only one document element is allowed', at);
    if (stack.length >= maxDepth) fail(`Elements nested more than ${maxDepth} deep`, at);
    if (++elements > maxElements) fail(`More than ${maxElements} elements`, at);
    const attrs = new Map<string, string>();
    for (;;) {
      const before = i;
      skipSpace();
      if (s.startsWith('/>', i) || s[i] === '>') break;
      if (i === before) fail(`Expected whitespace, '>' or '/>' in the element '${name}'`);
      const attr = readName();
      skipSpace();
      if (s[i] !== '=') fail(`Expected '=' after the attribute '${attr}' of the element '${name}'`);
      i++;
      skipSpace();
      const q = s[i];
      if (q !== '"' && q !== "'") fail(`Expected a quoted value for the attribute '${attr}' of the element '${name}'`);
      const end = s.indexOf(q!, i + 1);
      if (end < 0) fail(`Unterminated value of the attribute '${attr}'`);
      const raw = s.slice(i + 1, end);
      if (raw.includes('<')) fail(`'<' in the value of the attribute '${attr}'`, i + 1 + raw.indexOf('<'));
      if (attrs.has(attr)) fail(`Attribute '${attr}' given twice in the element '${name}'`);
      if (attrs.size >= maxAttributes) fail(`More than ${maxAttributes} attributes in the element '${name}'`);
      attrs.set(attr, expand(raw, i + 1));
      i = end + 1;
    }
    rootSeen = true;
    handler.start(name, attrs);
    if (s.startsWith('/>', i)) {
      i += 2;
      handler.end(name);
    } else {
      i++;
      stack.push(name);
    }
  }
  flushText();
  if (stack.length > 0) fail(`Document ended unexpectedly with elements still open (last one: '${stack[stack.length - 1]}')`);
  if (!rootSeen) fail('Document was empty or contained only whitespace');
}
