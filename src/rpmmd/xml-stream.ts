// A streaming XML reader for rpm-md metadata (repomd.xml, primary/filelists/other/updateinfo.xml),
// over `saxes`: bytes arrive as chunks (an async iterable), are decoded as UTF-8 across chunk
// boundaries and fed to the parser in bounded slices, and events (start, end, text) go to a
// handler. Input is hostile, as libsolv's and librepo's expat readers must assume: a DOCTYPE (and
// with it any entity declaration: billion laughs, external entities) is refused, only the five
// predefined entities and character references are expanded, and depth, attribute count,
// attribute length, text length per element and total size are capped. Errors are XylemErrors
// naming the file, line and column.

import { SaxesParser } from 'saxes';
import { XylemError } from '../util/errors.ts';

export interface XmlStreamHandler {
  /** An element starts; `attrs` maps qualified names (`xml:base`, `pkgid`) to values. */
  start(name: string, attrs: Readonly<Record<string, string>>): void;
  end(name: string): void;
  /** Character data (text or CDATA) inside the current element; may come in several pieces. */
  text(text: string): void;
  /**
   * Awaited after every slice of input (at most 64 Ki characters): lets a handler hand what it
   * collected to an asynchronous consumer, so that its queue stays small.
   */
  flush?(): void | Promise<void>;
}

export interface XmlStreamLimits {
  /** Elements open at once (default 64). */
  maxDepth?: number;
  /** Attributes on one element (default 64). */
  maxAttributes?: number;
  /** Characters in one attribute value (default 256 Ki). */
  maxAttributeLength?: number;
  /** Characters of text directly inside one element (default 16 Mi). */
  maxTextLength?: number;
  /** Bytes of XML in the whole document (default 8 GiB). */
  maxTotalBytes?: number;
}

export interface XmlStreamOptions {
  /** What the document is, for errors (a file name or URL). */
  fileName: string;
  limits?: XmlStreamLimits;
}

/** Characters handed to the parser at once: bounds the work (and buffering) between cap checks. */
const SLICE = 64 * 1024;

// saxes' internal states that mean "inside a DOCTYPE" (S_DOCTYPE … S_DTD_PI_ENDING).
const DOCTYPE_STATE_MIN = 2;
const DOCTYPE_STATE_MAX = 12;
// saxes' states where `text` collects an attribute value.
const ATTRIB_VALUE_STATES = new Set([39, 40, 41, 42]);

/** saxes' fields we watch between slices (not in its typings). */
interface SaxesInternals {
  state: number;
  text: string;
  name: string;
  entity: string;
  piTarget: string;
  doctype: boolean;
  attribList: unknown[];
  tags: unknown[];
}

/** Thrown inside saxes callbacks so that the outer loop can tell our refusals from saxes' own. */
export class Refusal extends Error {
  constructor(
    readonly error: XylemError,
  ) {
    super(error.message);
  }
}

/** A caller's limit option, or its default; `fn` names the parser in the error. */
export function positiveLimit(v: number | undefined, dflt: number, name: string, fn: string): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n <= 0) throw new TypeError(`${fn}: ${name} must be a positive integer, got ${String(v)}`);
  return n;
}
const limit = (v: number | undefined, dflt: number, name: string): number => positiveLimit(v, dflt, name, 'parseXmlStream');

/**
 * Parses the XML document in `chunks`, calling `handler` as it goes. Resolves once the document
 * is complete and well formed; rejects with a XylemError (code EINVAL for bad XML, ETOOBIG for a
 * cap) naming `opts.fileName` and the line. Errors the handler throws are re-thrown; XylemErrors
 * among them get the file and line prefixed (same code).
 */
export async function parseXmlStream(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, handler: XmlStreamHandler, opts: XmlStreamOptions): Promise<void> {
  if (chunks === null || typeof chunks !== 'object') throw new TypeError('parseXmlStream: chunks must be an iterable of Uint8Array');
  if (typeof handler?.start !== 'function' || typeof handler.end !== 'function' || typeof handler.text !== 'function')
    throw new TypeError('parseXmlStream: handler needs start, end and text');
  if (typeof opts?.fileName !== 'string' || opts.fileName === '') throw new TypeError('parseXmlStream: opts.fileName is required');
  const l = opts.limits ?? {};
  const maxDepth = limit(l.maxDepth, 64, 'maxDepth');
  const maxAttributes = limit(l.maxAttributes, 64, 'maxAttributes');
  const maxAttributeLength = limit(l.maxAttributeLength, 256 * 1024, 'maxAttributeLength');
  const maxTextLength = limit(l.maxTextLength, 16 * 1024 * 1024, 'maxTextLength');
  const maxTotalBytes = limit(l.maxTotalBytes, 8 * 1024 * 1024 * 1024, 'maxTotalBytes');
  const file = opts.fileName;

  const parser = new SaxesParser({ fileName: file, position: true });
  const internals = parser as unknown as SaxesInternals;
  // The caps between slices read saxes' buffers: fail loudly if a saxes upgrade renamed them.
  if (
    typeof internals.state !== 'number' ||
    typeof internals.text !== 'string' ||
    typeof internals.name !== 'string' ||
    typeof internals.entity !== 'string' ||
    !Array.isArray(internals.attribList) ||
    !Array.isArray(internals.tags)
  )
    throw new Error('parseXmlStream: this saxes version does not expose the parser state the caps rely on');
  const where = (): string => `${file}:${parser.line}:${parser.column + 1}`;
  const refuse = (msg: string, code = 'EINVAL'): never => {
    throw new Refusal(new XylemError(`${where()}: ${msg}`, code));
  };

  // Only four handlers are registered: each one saxes stores as a new property of the parser, and
  // a few more push V8 into slow (dictionary) property access for the whole parse, ~3x slower.
  // DOCTYPE, the encoding, attributes and depth are checked from the open-tag event and between
  // slices instead.
  let depth = 0;
  /** Text characters given to the handler since the last start or end tag. */
  let textRun = 0;
  const doctypeRefused = 'a DOCTYPE is not allowed in rpm-md metadata (entity declarations are refused)';
  const onText = (t: string): void => {
    if (depth === 0) return; // whitespace around the document element
    textRun += t.length;
    if (textRun > maxTextLength) refuse(`text of an element is longer than the limit of ${maxTextLength} characters`, 'ETOOBIG');
    handler.text(t);
  };
  parser.on('opentag', (tag) => {
    if (depth === 0) {
      if (internals.doctype) refuse(doctypeRefused);
      const enc = parser.xmlDecl?.encoding;
      if (enc !== undefined && !/^utf-?8$/i.test(enc)) refuse(`unsupported document encoding '${enc}' (only UTF-8 is read)`);
    }
    if (++depth > maxDepth) refuse(`elements nest deeper than the limit of ${maxDepth}`, 'ETOOBIG');
    textRun = 0;
    const attrs = tag.attributes as Record<string, string>;
    let n = 0;
    for (const k in attrs) {
      if (++n > maxAttributes) refuse(`an element has more than the limit of ${maxAttributes} attributes`, 'ETOOBIG');
      if (attrs[k]!.length > maxAttributeLength) refuse(`attribute '${k}' is longer than the limit of ${maxAttributeLength} characters`, 'ETOOBIG');
    }
    handler.start(tag.name, attrs);
  });
  parser.on('closetag', (tag) => {
    depth--;
    textRun = 0;
    handler.end(tag.name);
  });
  parser.on('text', onText);
  parser.on('cdata', onText);

  /** Between slices: the buffers saxes is still filling must stay within the caps. */
  const checkPending = (): void => {
    const st = internals.state;
    if (internals.doctype || (st >= DOCTYPE_STATE_MIN && st <= DOCTYPE_STATE_MAX))
      refuse(doctypeRefused);
    if (ATTRIB_VALUE_STATES.has(st)) {
      if (internals.text.length > maxAttributeLength) refuse(`an attribute value is longer than the limit of ${maxAttributeLength} characters`, 'ETOOBIG');
    } else if (textRun + internals.text.length > maxTextLength)
      refuse(`text of an element is longer than the limit of ${maxTextLength} characters`, 'ETOOBIG');
    if (internals.attribList.length > maxAttributes) refuse(`an element has more than the limit of ${maxAttributes} attributes`, 'ETOOBIG');
    if (internals.tags.length > maxDepth) refuse(`elements nest deeper than the limit of ${maxDepth}`, 'ETOOBIG');
    if (internals.name.length > 4096 || internals.entity.length > 4096 || internals.piTarget.length > 4096)
      refuse('a name or entity reference is longer than 4096 characters', 'ETOOBIG');
  };

  const feed = async (s: string): Promise<void> => {
    let i = 0;
    while (i < s.length) {
      let end = Math.min(i + SLICE, s.length);
      // Never split a surrogate pair between two writes.
      if (end < s.length) {
        const c = s.charCodeAt(end - 1);
        if (c >= 0xd800 && c <= 0xdbff) end++;
      }
      parser.write(end - i === s.length ? s : s.slice(i, end));
      checkPending();
      if (handler.flush) await handler.flush();
      i = end;
    }
  };

  const decoder = new TextDecoder('utf-8', { fatal: true });
  let total = 0;
  try {
    for await (const chunk of chunks as AsyncIterable<Uint8Array>) {
      if (!(chunk instanceof Uint8Array)) throw new TypeError(`parseXmlStream: ${file}: chunks must be Uint8Array`);
      total += chunk.length;
      if (total > maxTotalBytes) refuse(`document is larger than the limit of ${maxTotalBytes} bytes`, 'ETOOBIG');
      let s: string;
      try {
        s = decoder.decode(chunk, { stream: true });
      } catch {
        refuse('document is not valid UTF-8');
      }
      await feed(s!);
    }
    let tail: string;
    try {
      tail = decoder.decode();
    } catch {
      refuse('document is not valid UTF-8 (truncated sequence at its end)');
    }
    await feed(tail!);
    if (total === 0) refuse('document is empty');
    parser.close();
    if (handler.flush) await handler.flush();
  } catch (e) {
    if (e instanceof Refusal) throw e.error;
    if (e instanceof XylemError) {
      const err = new XylemError(e.message.startsWith(`${file}:`) ? e.message : `${where()}: ${e.message}`, e.code);
      throw err;
    }
    if (e instanceof Error && isSaxesError(e, file)) {
      // An error inside or after a DOCTYPE (an undefined entity it declared…) is the DOCTYPE's.
      const st = internals.state;
      if (internals.doctype || (st >= DOCTYPE_STATE_MIN && st <= DOCTYPE_STATE_MAX)) throw new XylemError(`${where()}: ${doctypeRefused}`, 'EINVAL');
      throw new XylemError(`${e.message}`, 'EINVAL');
    }
    throw e;
  }
}

/** saxes' own errors read `FILE:LINE:COL: message`. */
function isSaxesError(e: Error, file: string): boolean {
  return e.constructor === Error && e.message.startsWith(`${file}:`);
}
