// updateinfo.xml (advisories) streamed one <update> at a time, in the shape createrepo_c's
// xml_dump_updateinfo.c writes and libsolv's repo_updateinfoxml.c reads: attributes from, status,
// type, version; id, title, issued/updated dates (kept as written: "YYYY-MM-DD HH:MM:SS" or
// seconds), rights, release, pushcount, severity, summary, description, solution, references,
// and the package list grouped in collections (with an optional module), each package with its
// filename, checksum and reboot/restart/relogin flags. rpm-ostree turns these into
// `rpmostree.advisories`.

import { XylemError } from '../util/errors.ts';
import { parseEpoch } from './fields.ts';
import type { PackageSink, StreamOptions, StreamResult } from './primary.ts';
import { parseXmlStream } from './xml-stream.ts';

export interface AdvisoryReference {
  href: string;
  id: string;
  type: string;
  title: string;
}

export interface AdvisoryPackage {
  name: string;
  epoch: number;
  version: string;
  release: string;
  arch: string;
  src: string;
  filename: string;
  sum: { type: string; value: string } | null;
  rebootSuggested: boolean;
  restartSuggested: boolean;
  reloginSuggested: boolean;
}

export interface AdvisoryCollection {
  short: string;
  name: string;
  module: { name: string; stream: string; version: string; context: string; arch: string } | null;
  packages: AdvisoryPackage[];
}

export interface Advisory {
  from: string;
  status: string;
  type: string;
  version: string;
  id: string;
  title: string;
  issued: string | null;
  updated: string | null;
  rights: string;
  release: string;
  pushcount: string;
  severity: string;
  summary: string;
  description: string;
  solution: string;
  rebootSuggested: boolean;
  references: AdvisoryReference[];
  collections: AdvisoryCollection[];
}

const UPDATE_TEXT = new Set(['id', 'title', 'rights', 'release', 'pushcount', 'severity', 'summary', 'description', 'solution', 'reboot_suggested']);
const PACKAGE_TEXT = new Set(['filename', 'sum', 'reboot_suggested', 'restart_suggested', 'relogin_suggested']);

/** `True`/`1`/`yes` (any case), or an empty element, count as set. */
function flag(text: string): boolean {
  const t = text.trim().toLowerCase();
  return t === '' || t === 'true' || t === '1' || t === 'yes';
}

/** Streams updateinfo.xml (uncompressed) into `sink`, one advisory at a time. */
export async function streamUpdateinfo(input: AsyncIterable<Uint8Array>, sink: PackageSink<Advisory>, opts: StreamOptions): Promise<StreamResult> {
  if (typeof sink !== 'function') throw new TypeError('streamUpdateinfo: sink must be a function');
  if (typeof opts?.fileName !== 'string') throw new TypeError('streamUpdateinfo: opts.fileName is required');
  const maxItems = opts.maxItemsPerPackage ?? 1_000_000;
  const ready: Advisory[] = [];
  const result: StreamResult = { packages: 0, declared: null };
  const stack: string[] = [];
  let adv: Advisory | null = null;
  let coll: AdvisoryCollection | null = null;
  let pkg: AdvisoryPackage | null = null;
  let field: string | null = null;
  let fieldAttrs: Readonly<Record<string, string>> = {};
  let text = '';
  let items = 0;
  let sawRoot = false;
  let seen = 0;
  const what = (): string => (adv && adv.id ? `advisory ${adv.id}` : `advisory #${seen}`);
  const count = (): void => {
    if (++items > maxItems) throw new XylemError(`${what()}: more than ${maxItems} references and packages`, 'ETOOBIG');
  };

  await parseXmlStream(
    input,
    {
      start(name, attrs) {
        const parent = stack[stack.length - 1];
        stack.push(name);
        if (stack.length === 1) {
          if (name !== 'updates') throw new XylemError(`document element is <${name}>, not <updates>`, 'EINVAL');
          sawRoot = true;
          return;
        }
        if (field !== null) return;
        if (stack.length === 2) {
          if (name !== 'update') return;
          seen++;
          items = 0;
          adv = {
            from: attrs.from ?? '',
            status: attrs.status ?? '',
            type: attrs.type ?? '',
            version: attrs.version ?? '',
            id: '',
            title: '',
            issued: null,
            updated: null,
            rights: '',
            release: '',
            pushcount: '',
            severity: '',
            summary: '',
            description: '',
            solution: '',
            rebootSuggested: false,
            references: [],
            collections: [],
          };
          return;
        }
        if (!adv) return;
        if (parent === 'update') {
          if (name === 'issued') adv.issued = attrs.date ?? null;
          else if (name === 'updated') adv.updated = attrs.date ?? null;
          else if (UPDATE_TEXT.has(name)) {
            field = name;
            text = '';
          }
        } else if (parent === 'references' && name === 'reference') {
          count();
          adv.references.push({ href: attrs.href ?? '', id: attrs.id ?? '', type: attrs.type ?? '', title: attrs.title ?? '' });
        } else if (parent === 'pkglist' && name === 'collection') {
          coll = { short: attrs.short ?? '', name: '', module: null, packages: [] };
          adv.collections.push(coll);
        } else if (parent === 'collection' && coll) {
          if (name === 'name') {
            field = 'collection-name';
            text = '';
          } else if (name === 'module') {
            coll.module = { name: attrs.name ?? '', stream: attrs.stream ?? '', version: attrs.version ?? '', context: attrs.context ?? '', arch: attrs.arch ?? '' };
          } else if (name === 'package') {
            count();
            const pname = attrs.name;
            if (!pname) throw new XylemError(`${what()}: <package> without a name`, 'EINVAL');
            pkg = {
              name: pname,
              epoch: parseEpoch(attrs.epoch, `${what()}: package '${pname}'`),
              version: attrs.version ?? '',
              release: attrs.release ?? '',
              arch: attrs.arch ?? '',
              src: attrs.src ?? '',
              filename: '',
              sum: null,
              rebootSuggested: false,
              restartSuggested: false,
              reloginSuggested: false,
            };
            coll.packages.push(pkg);
          }
        } else if (parent === 'package' && pkg && PACKAGE_TEXT.has(name)) {
          field = `package-${name}`;
          fieldAttrs = attrs;
          text = '';
        }
      },
      text(t) {
        if (field !== null) text += t;
      },
      end(name) {
        const depthBefore = stack.length;
        stack.pop();
        if (field !== null) {
          // Only the element that opened the field closes it.
          const opened = field.startsWith('package-') ? field.slice(8) : field === 'collection-name' ? 'name' : field;
          if (name !== opened) return;
          const f = field;
          field = null;
          const v = f === 'description' || f === 'summary' || f === 'solution' ? text : text.trim();
          if (!adv) return;
          if (f === 'collection-name' && coll) coll.name = v;
          else if (f === 'package-filename' && pkg) pkg.filename = v;
          else if (f === 'package-sum' && pkg) pkg.sum = { type: fieldAttrs.type ?? '', value: v };
          else if (f === 'package-reboot_suggested' && pkg) pkg.rebootSuggested = flag(v);
          else if (f === 'package-restart_suggested' && pkg) pkg.restartSuggested = flag(v);
          else if (f === 'package-relogin_suggested' && pkg) pkg.reloginSuggested = flag(v);
          else if (f === 'reboot_suggested') adv.rebootSuggested = flag(v);
          else if (f === 'id' || f === 'title' || f === 'rights' || f === 'release' || f === 'pushcount' || f === 'severity' || f === 'summary' || f === 'description' || f === 'solution')
            adv[f] = v;
          return;
        }
        if (name === 'package') pkg = null;
        else if (name === 'collection') coll = null;
        else if (name === 'update' && depthBefore === 2 && adv) {
          if (adv.id === '') throw new XylemError(`advisory #${seen}: no <id>`, 'EINVAL');
          ready.push(adv);
          result.packages++;
          adv = null;
        }
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
  if (!sawRoot) throw new XylemError(`${opts.fileName}: no <updates> element`, 'EINVAL');
  return result;
}

/**
 * An advisory date as seconds since the epoch: createrepo writes either seconds or
 * `YYYY-MM-DD[ HH:MM[:SS]]` (read as UTC, as libsolv's repo_updateinfoxml does). Null when empty
 * or unreadable.
 */
export function parseAdvisoryDate(s: string | null): number | null {
  if (s === null) return null;
  const t = s.trim();
  if (/^\d{1,12}$/.test(t)) return Number(t);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(t);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/** The time an advisory stands for (its `updated` date, else `issued`), as libsolv's buildtime. */
export function advisoryTime(a: Pick<Advisory, 'issued' | 'updated'>): number | null {
  return parseAdvisoryDate(a.updated) ?? parseAdvisoryDate(a.issued);
}
