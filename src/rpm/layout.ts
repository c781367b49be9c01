// The layout of a package file: lead (96 B) | signature header | zero padding to 8 | main header |
// payload. Reads the three leading parts (checked as rpm's rpmReadPackageFile does) and records
// their byte ranges: the main header's range is createrepo's rpm:header-range, and lead+signature+
// header bytes are what rpm-ostree stores as `rpmostree.metadata`.

import { RpmError, RpmErrorCode } from './errors.ts';
import { HEADER_INTRO_SIZE, MAIN_HEADER_LIMITS, RpmHeader, SIG_HEADER_LIMITS, readHeaderIntro } from './header.ts';
import { LEAD_SIZE, parseLead, type RpmLead } from './lead.ts';
import { readExact, type RpmSource } from './source.ts';
import { SIG_TAG_TYPES, TAG_TYPES, SigTag, Tag } from './tags.ts';

/** Byte offsets of a package's parts (end offsets exclusive). */
export interface RpmLayout {
  signatureStart: number;
  signatureEnd: number;
  /** Start of the main header (signatureEnd rounded up to 8): createrepo's header-range start. */
  headerStart: number;
  /** End of the main header = start of the payload: createrepo's header-range end. */
  headerEnd: number;
}

/** A package's lead and headers, verified structurally; the payload is not read. */
export interface RpmHeaders {
  /** The name errors use (the file name the caller gave). */
  pkg: string;
  lead: RpmLead;
  signature: RpmHeader;
  header: RpmHeader;
  layout: RpmLayout;
  /** Lead + signature header + padding + main header: the bytes before the payload. */
  metadataBytes: Uint8Array;
}

function sigOptions(pkg: string) {
  return { pkg, what: 'signature header', regionTag: SigTag.HEADERSIGNATURES, limits: SIG_HEADER_LIMITS, tagTypes: SIG_TAG_TYPES };
}
function mainOptions(pkg: string) {
  return { pkg, what: 'header', regionTag: Tag.HEADERIMMUTABLE, limits: MAIN_HEADER_LIMITS, tagTypes: TAG_TYPES };
}

function checkPadding(pad: Uint8Array, pkg: string): void {
  for (const b of pad) if (b !== 0) throw new RpmError(RpmErrorCode.HEADER, pkg, 'signature header padding is not zero');
}

function checkRegions(sig: RpmHeader, hdr: RpmHeader, pkg: string): void {
  // A package file's headers are whole regions: a signature/digest covers everything in them.
  if (hdr.hasRegion && hdr.regionEntries !== hdr.il) throw new RpmError(RpmErrorCode.HEADER, pkg, `header has ${hdr.il - hdr.regionEntries} entries outside its immutable region`);
  // (rpm accepts signature-header entries outside the region, as rpmsign's IMA tags in upstream tests)
  if (!hdr.has(Tag.NAME) || !hdr.has(Tag.VERSION) || !hdr.has(Tag.RELEASE)) throw new RpmError(RpmErrorCode.HEADER, pkg, 'header lacks NAME, VERSION or RELEASE');
}

/** Reads the lead and both headers of an in-memory package. */
export function parseRpmHeaders(bytes: Uint8Array, pkg: string): RpmHeaders {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseRpmHeaders: expected a Uint8Array');
  if (typeof pkg !== 'string' || pkg === '') throw new TypeError('parseRpmHeaders: expected a package name for errors');
  const lead = parseLead(bytes, pkg);
  const sigIntro = readHeaderIntro(bytes.subarray(LEAD_SIZE, LEAD_SIZE + HEADER_INTRO_SIZE), pkg, 'signature header', SIG_HEADER_LIMITS);
  const signatureEnd = LEAD_SIZE + sigIntro.size;
  if (bytes.length < signatureEnd) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, `signature header is truncated: ${bytes.length - LEAD_SIZE} of ${sigIntro.size} bytes`);
  const signature = new RpmHeader(bytes.subarray(LEAD_SIZE, signatureEnd), sigOptions(pkg));
  const headerStart = (signatureEnd + 7) & ~7;
  if (bytes.length < headerStart + HEADER_INTRO_SIZE) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, 'header is truncated (no room for its intro)');
  checkPadding(bytes.subarray(signatureEnd, headerStart), pkg);
  const intro = readHeaderIntro(bytes.subarray(headerStart, headerStart + HEADER_INTRO_SIZE), pkg, 'header', MAIN_HEADER_LIMITS);
  const headerEnd = headerStart + intro.size;
  if (bytes.length < headerEnd) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, `header is truncated: ${bytes.length - headerStart} of ${intro.size} bytes`);
  const header = new RpmHeader(bytes.subarray(headerStart, headerEnd), mainOptions(pkg));
  checkRegions(signature, header, pkg);
  return { pkg, lead, signature, header, layout: { signatureStart: LEAD_SIZE, signatureEnd, headerStart, headerEnd }, metadataBytes: bytes.subarray(0, headerEnd) };
}

/** Reads the lead and both headers from a byte source, reading no further than the main header's end. */
export async function readRpmHeaders(src: RpmSource, pkg: string): Promise<RpmHeaders> {
  if (typeof pkg !== 'string' || pkg === '') throw new TypeError('readRpmHeaders: expected a package name for errors');
  const first = await readExact(src, 0, LEAD_SIZE + HEADER_INTRO_SIZE, pkg, 'lead and signature header intro');
  parseLead(first, pkg);
  const sigIntro = readHeaderIntro(first.subarray(LEAD_SIZE), pkg, 'signature header', SIG_HEADER_LIMITS);
  const signatureEnd = LEAD_SIZE + sigIntro.size;
  const headerStart = (signatureEnd + 7) & ~7;
  // everything up to and including the main header's intro
  const upToIntro = await readExact(src, 0, headerStart + HEADER_INTRO_SIZE, pkg, 'signature header');
  const intro = readHeaderIntro(upToIntro.subarray(headerStart), pkg, 'header', MAIN_HEADER_LIMITS);
  const rest = await readExact(src, headerStart + HEADER_INTRO_SIZE, intro.size - HEADER_INTRO_SIZE, pkg, 'header');
  const all = new Uint8Array(headerStart + intro.size);
  all.set(upToIntro, 0);
  all.set(rest, upToIntro.length);
  return parseRpmHeaders(all, pkg);
}
