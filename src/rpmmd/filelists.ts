// filelists.xml and other.xml streamed one package at a time (createrepo_c's xml_dump_filelists.c
// and xml_dump_other.c write them, libsolv's repo_rpmmd.c reads them): every file of a package
// (`<file type="dir|ghost">`) and its changelog entries (`<changelog author date>` text, at most the
// newest N, oldest first as createrepo writes them). Packages are keyed by pkgid, the checksum
// primary.xml gives, so a reader can join them.

import { XylemError } from '../util/errors.ts';
import { parseEpoch, parseTime } from './fields.ts';
import { fileType, type PackageSink, type RpmmdFile, type StreamOptions, type StreamResult } from './primary.ts';
import { parseCount } from './fields.ts';
import { parseXmlFast } from './xml-fast.ts';

/** The identity part every filelists/other record has. */
export interface PackageRef {
  /** The package's checksum (primary.xml's pkgid). */
  pkgid: string;
  name: string;
  arch: string;
  epoch: number;
  version: string;
  release: string;
}

export interface FilelistsPackage extends PackageRef {
  files: RpmmdFile[];
}

export interface ChangelogEntry {
  author: string;
  /** Seconds since the epoch. */
  date: number;
  text: string;
}

export interface OtherPackage extends PackageRef {
  changelogs: ChangelogEntry[];
}

interface Spec<T extends PackageRef> {
  root: string;
  item: string;
  make(ref: PackageRef): T;
  add(pkg: T, attrs: Readonly<Record<string, string>>, text: string, what: string): void;
}

async function streamPerPackage<T extends PackageRef>(spec: Spec<T>, input: AsyncIterable<Uint8Array>, sink: PackageSink<T>, opts: StreamOptions): Promise<StreamResult> {
  if (typeof sink !== 'function') throw new TypeError('sink must be a function');
  if (typeof opts?.fileName !== 'string') throw new TypeError('opts.fileName is required');
  const maxItems = opts.maxItemsPerPackage ?? 1_000_000;
  const ready: T[] = [];
  const result: StreamResult = { packages: 0, declared: null };
  let depth = 0;
  let pkg: T | null = null;
  let collecting = false;
  let itemAttrs: Readonly<Record<string, string>> = {};
  let text = '';
  let items = 0;
  let sawRoot = false;
  let seen = 0;
  const what = (): string => (pkg ? `package '${pkg.name}' (${pkg.pkgid})` : `package #${seen}`);
  await (opts.parser ?? parseXmlFast)(
    input,
    {
      start(name, attrs) {
        depth++;
        if (depth === 1) {
          if (name !== spec.root) throw new XylemError(`document element is <${name}>, not <${spec.root}>`, 'EINVAL');
          sawRoot = true;
          result.declared = parseCount(attrs.packages, `<${spec.root} packages>`);
          return;
        }
        if (depth === 2 && name === 'package') {
          seen++;
          const pkgid = attrs.pkgid ?? '';
          const pname = attrs.name ?? '';
          if (!/^[0-9a-fA-F]{32,128}$/.test(pkgid)) throw new XylemError(`package #${seen}: missing or malformed pkgid`, 'EINVAL');
          if (pname === '') throw new XylemError(`package #${seen} (${pkgid}): no name`, 'EINVAL');
          pkg = spec.make({ pkgid: pkgid.toLowerCase(), name: pname, arch: attrs.arch ?? '', epoch: 0, version: '', release: '' });
          items = 0;
          return;
        }
        if (!pkg || depth !== 3) return;
        if (name === 'version') {
          pkg.epoch = parseEpoch(attrs.epoch, what());
          pkg.version = attrs.ver ?? '';
          pkg.release = attrs.rel ?? '';
        } else if (name === spec.item) {
          if (++items > maxItems) throw new XylemError(`${what()}: more than ${maxItems} <${spec.item}> entries`, 'ETOOBIG');
          collecting = true;
          itemAttrs = attrs;
          text = '';
        }
      },
      text(t) {
        if (collecting && depth === 3) text += t;
      },
      end() {
        if (pkg && collecting && depth === 3) {
          collecting = false;
          spec.add(pkg, itemAttrs, text, what());
        } else if (pkg && depth === 2) {
          if (pkg.version === '') throw new XylemError(`${what()}: no <version>`, 'EINVAL');
          ready.push(pkg);
          result.packages++;
          pkg = null;
        }
        depth--;
      },
      async flush() {
        while (ready.length > 0) {
          const r = sink(ready.shift()!);
          if (r) await r;
        }
      },
    },
    { fileName: opts.fileName, limits: opts.limits },
  );
  if (!sawRoot) throw new XylemError(`${opts.fileName}: no <${spec.root}> element`, 'EINVAL');
  return result;
}

/** Streams filelists.xml (uncompressed) into `sink`, one package with all its files at a time. */
export function streamFilelists(input: AsyncIterable<Uint8Array>, sink: PackageSink<FilelistsPackage>, opts: StreamOptions): Promise<StreamResult> {
  return streamPerPackage<FilelistsPackage>(
    {
      root: 'filelists',
      item: 'file',
      make: (ref) => ({ ...ref, files: [] }),
      add(pkg, attrs, text, what) {
        if (text === '') throw new XylemError(`${what}: empty <file>`, 'EINVAL');
        pkg.files.push({ path: text, type: fileType(attrs.type, what) });
      },
    },
    input,
    sink,
    opts,
  );
}

/** Streams other.xml (uncompressed) into `sink`: each package with its changelog entries. */
export function streamOther(input: AsyncIterable<Uint8Array>, sink: PackageSink<OtherPackage>, opts: StreamOptions): Promise<StreamResult> {
  return streamPerPackage<OtherPackage>(
    {
      root: 'otherdata',
      item: 'changelog',
      make: (ref) => ({ ...ref, changelogs: [] }),
      add(pkg, attrs, text, what) {
        pkg.changelogs.push({ author: attrs.author ?? '', date: parseTime(attrs.date, `${what}: <changelog date>`) ?? 0, text });
      },
    },
    input,
    sink,
    opts,
  );
}
