// primary.xml streamed one package at a time (the format createrepo_c's xml_dump_primary.c writes
// and libsolv's repo_rpmmd.c reads): identity, pkgid checksum, descriptive fields, times, sizes,
// location, the <format> block (license, vendor, group, buildhost, sourcerpm, header-range, the
// eight dependency lists) and the "primary" file list. Each package goes to a sink as soon as its
// </package> is read, so memory does not grow with the file. Elements this reader does not know
// are skipped; a package missing what identifies it is an error naming it.

import type { Dependency, Nevra, PackageDependencies } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';
import { validateChecksum, type Checksum } from './digest.ts';
import { parseCount, parseEntry, parseEpoch, parseTime } from './fields.ts';
import { parseXmlFast } from './xml-fast.ts';
import type { parseXmlStream, XmlStreamLimits } from './xml-stream.ts';

/** A file listed for a package: primary.xml's subset, or filelists.xml's full list. */
export interface RpmmdFile {
  path: string;
  type: 'file' | 'dir' | 'ghost';
}

/** One package of primary.xml. */
export interface RpmmdPackage extends Nevra, PackageDependencies {
  /** Always a number: createrepo writes 0 when the package has none. */
  epoch: number;
  /** The <package type> ("rpm"). */
  packageType: string;
  /** Digest of the whole .rpm file (the pkgid). */
  checksum: Checksum;
  summary: string;
  description: string;
  packager: string;
  url: string;
  /** mtime of the .rpm file and its BUILDTIME, seconds. */
  time: { file: number; build: number };
  /** .rpm file size, SIZE tag (installed), cpio archive size. */
  size: { package: number; installed: number; archive: number };
  location: { href: string; base: string | null };
  license: string;
  vendor: string;
  group: string;
  buildhost: string;
  sourcerpm: string;
  /** [start, end) of the main header in the .rpm file, when given. */
  headerRange: { start: number; end: number } | null;
  /** The "primary" files: /etc/…, …bin/…, /usr/lib/sendmail. */
  files: RpmmdFile[];
}

export type PackageSink<T> = (pkg: T) => void | Promise<void>;

export interface StreamOptions {
  /** Names the document in errors. */
  fileName: string;
  limits?: XmlStreamLimits;
  /** Dependencies plus files in one package (default 1,000,000). */
  maxItemsPerPackage?: number;
  /** The XML reader (default: parseXmlFast; tests pass parseXmlStream to compare). */
  parser?: typeof parseXmlStream;
}

export interface StreamResult {
  /** Packages handed to the sink. */
  packages: number;
  /** The root element's `packages` attribute, when present. */
  declared: number | null;
}

const DEP_LISTS: Record<string, keyof PackageDependencies> = {
  'rpm:provides': 'provides',
  'rpm:requires': 'requires',
  'rpm:conflicts': 'conflicts',
  'rpm:obsoletes': 'obsoletes',
  'rpm:suggests': 'suggests',
  'rpm:enhances': 'enhances',
  'rpm:recommends': 'recommends',
  'rpm:supplements': 'supplements',
};

type TextField = 'name' | 'arch' | 'summary' | 'description' | 'packager' | 'url' | 'checksum' | 'file' | 'license' | 'vendor' | 'group' | 'buildhost' | 'sourcerpm';
const PACKAGE_TEXT: Record<string, TextField> = {
  name: 'name',
  arch: 'arch',
  summary: 'summary',
  description: 'description',
  packager: 'packager',
  url: 'url',
  checksum: 'checksum',
};
const FORMAT_TEXT: Record<string, TextField> = {
  'rpm:license': 'license',
  'rpm:vendor': 'vendor',
  'rpm:group': 'group',
  'rpm:buildhost': 'buildhost',
  'rpm:sourcerpm': 'sourcerpm',
  file: 'file',
};

function emptyPackage(packageType: string): RpmmdPackage {
  return {
    name: '',
    epoch: 0,
    version: '',
    release: '',
    arch: '',
    packageType,
    checksum: { type: '', value: '' },
    summary: '',
    description: '',
    packager: '',
    url: '',
    time: { file: 0, build: 0 },
    size: { package: 0, installed: 0, archive: 0 },
    location: { href: '', base: null },
    license: '',
    vendor: '',
    group: '',
    buildhost: '',
    sourcerpm: '',
    headerRange: null,
    provides: [],
    requires: [],
    conflicts: [],
    obsoletes: [],
    recommends: [],
    suggests: [],
    supplements: [],
    enhances: [],
    files: [],
  };
}

/** The file type of a `<file type>` attribute. */
export function fileType(t: string | undefined, what: string): RpmmdFile['type'] {
  if (t === undefined || t === '' || t === 'file') return 'file';
  if (t === 'dir' || t === 'ghost') return t;
  throw new XylemError(`${what}: unknown file type '${t.slice(0, 20)}'`, 'EINVAL');
}

/**
 * Streams the (uncompressed) primary.xml in `input` into `sink`, one package at a time. A sink
 * may be asynchronous: parsing waits for it. Packages are handed over before the end of the
 * document is seen: when this rejects (bad XML further on, a checksum mismatch found by the caller's
 * stream), what the sink received must be discarded.
 */
export async function streamPrimary(input: AsyncIterable<Uint8Array>, sink: PackageSink<RpmmdPackage>, opts: StreamOptions): Promise<StreamResult> {
  if (typeof sink !== 'function') throw new TypeError('streamPrimary: sink must be a function');
  if (typeof opts?.fileName !== 'string') throw new TypeError('streamPrimary: opts.fileName is required');
  const maxItems = opts.maxItemsPerPackage ?? 1_000_000;
  const ready: RpmmdPackage[] = [];
  const result: StreamResult = { packages: 0, declared: null };
  let depth = 0;
  let pkg: RpmmdPackage | null = null;
  let pkgDepth = 0;
  let inFormat = false;
  let depList: Dependency[] | null = null;
  let field: TextField | null = null;
  let fieldDepth = 0;
  let fileAttr: string | undefined;
  let checksumAttrs: Readonly<Record<string, string>> = {};
  let text = '';
  let items = 0;
  let sawRoot = false;
  let seen = 0;
  const what = (): string => (pkg && pkg.name ? `package '${pkg.name}'` : `package #${seen}`);

  await (opts.parser ?? parseXmlFast)(
    input,
    {
      start(name, attrs) {
        depth++;
        if (depth === 1) {
          if (name !== 'metadata') throw new XylemError(`document element is <${name}>, not <metadata>`, 'EINVAL');
          sawRoot = true;
          result.declared = parseCount(attrs.packages, '<metadata packages>');
          return;
        }
        if (!pkg) {
          if (depth === 2 && name === 'package') {
            seen++;
            pkg = emptyPackage(attrs.type ?? 'rpm');
            pkgDepth = depth;
            items = 0;
          }
          return;
        }
        if (field !== null) return; // nothing nests inside a text field
        const rel = depth - pkgDepth;
        if (rel === 1) {
          const f = PACKAGE_TEXT[name];
          if (f !== undefined && Object.hasOwn(PACKAGE_TEXT, name)) {
            field = f;
            fieldDepth = depth;
            text = '';
            if (f === 'checksum') checksumAttrs = attrs;
            return;
          }
          switch (name) {
            case 'version':
              if (attrs.ver === undefined || attrs.ver === '') throw new XylemError(`${what()}: <version> without ver`, 'EINVAL');
              pkg.epoch = parseEpoch(attrs.epoch, what);
              pkg.version = attrs.ver;
              pkg.release = attrs.rel ?? '';
              return;
            case 'time':
              pkg.time = { file: parseTime(attrs.file, () => `${what()}: <time file>`) ?? 0, build: parseTime(attrs.build, () => `${what()}: <time build>`) ?? 0 };
              return;
            case 'size':
              pkg.size = {
                package: parseCount(attrs.package, () => `${what()}: <size package>`) ?? 0,
                installed: parseCount(attrs.installed, () => `${what()}: <size installed>`) ?? 0,
                archive: parseCount(attrs.archive, () => `${what()}: <size archive>`) ?? 0,
              };
              return;
            case 'location':
              if (!attrs.href) throw new XylemError(`${what()}: <location> without href`, 'EINVAL');
              pkg.location = { href: attrs.href, base: attrs['xml:base'] || null };
              return;
            case 'format':
              inFormat = true;
              return;
          }
          return;
        }
        if (!inFormat) return;
        if (rel === 2) {
          const list = DEP_LISTS[name];
          if (list !== undefined && Object.hasOwn(DEP_LISTS, name)) {
            depList = pkg[list];
            return;
          }
          if (name === 'rpm:header-range') {
            const start = parseCount(attrs.start, () => `${what()}: <rpm:header-range start>`);
            const end = parseCount(attrs.end, () => `${what()}: <rpm:header-range end>`);
            if (start === null || end === null || end < start) throw new XylemError(`${what()}: bad <rpm:header-range>`, 'EINVAL');
            pkg.headerRange = { start, end };
            return;
          }
          const f = FORMAT_TEXT[name];
          if (f !== undefined && Object.hasOwn(FORMAT_TEXT, name)) {
            field = f;
            fieldDepth = depth;
            text = '';
            if (f === 'file') fileAttr = attrs.type;
          }
          return;
        }
        if (rel === 3 && depList && name === 'rpm:entry') {
          if (++items > maxItems) throw new XylemError(`${what()}: more than ${maxItems} dependencies and files`, 'ETOOBIG');
          depList.push(parseEntry(attrs, what));
        }
      },
      text(t) {
        if (field !== null && depth === fieldDepth) text += t;
      },
      end() {
        if (pkg && field !== null && depth === fieldDepth) {
          const f = field;
          field = null;
          switch (f) {
            case 'checksum':
              pkg.checksum = validateChecksum({ type: checksumAttrs.type ?? '', value: text }, `${what()}: <checksum>`);
              break;
            case 'file': {
              if (++items > maxItems) throw new XylemError(`${what()}: more than ${maxItems} dependencies and files`, 'ETOOBIG');
              if (text === '') throw new XylemError(`${what()}: empty <file>`, 'EINVAL');
              pkg.files.push({ path: text, type: fileType(fileAttr, what()) });
              break;
            }
            default:
              pkg[f] = text;
          }
        } else if (pkg) {
          const rel = depth - pkgDepth;
          if (rel === 0) {
            finish(pkg);
            ready.push(pkg);
            result.packages++;
            pkg = null;
            inFormat = false;
            depList = null;
          } else if (rel === 1 && inFormat) inFormat = false;
          else if (rel === 2) depList = null;
        }
        depth--;
      },
      async flush() {
        while (ready.length > 0) {
          const p = ready.shift()!;
          const r = sink(p);
          if (r) await r;
        }
      },
    },
    { fileName: opts.fileName, limits: opts.limits },
  );
  if (!sawRoot) throw new XylemError(`${opts.fileName}: no <metadata> element`, 'EINVAL');
  return result;

  function finish(p: RpmmdPackage): void {
    const id = `package #${seen}${p.name ? ` '${p.name}'` : ''}`;
    if (p.name === '') throw new XylemError(`${id}: no <name>`, 'EINVAL');
    if (p.arch === '') throw new XylemError(`${id}: no <arch>`, 'EINVAL');
    if (p.version === '') throw new XylemError(`${id}: no <version>`, 'EINVAL');
    if (p.checksum.value === '') throw new XylemError(`${id}: no <checksum>`, 'EINVAL');
    if (p.location.href === '') throw new XylemError(`${id}: no <location>`, 'EINVAL');
  }
}
