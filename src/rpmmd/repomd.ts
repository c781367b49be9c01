// repodata/repomd.xml, the index of an rpm-md repository (createrepo_c's xml_dump_repomd.c writes
// it, librepo's repomd parser reads it): the revision, the tags (content, repo, distro with its
// cpeid) and one <data type> record per metadata file with its checksum (of the compressed file),
// open-checksum (of the uncompressed one), location (href + xml:base), timestamp, sizes and
// database_version. Read with the hostile-input XML layer; a repomd.xml is small, so it is capped.

import { XylemError } from '../util/errors.ts';
import { validateChecksum, type Checksum } from './digest.ts';
import { parseCount, parseTime } from './fields.ts';
import { parseXmlStream } from './xml-stream.ts';

/** Largest repomd.xml read (librepo does not bound it; Fedora's is ~6 KiB). */
export const MAX_REPOMD_SIZE = 4 * 1024 * 1024;
/** At most this many <data> records. */
const MAX_DATA = 1000;

export interface RepomdLocation {
  href: string;
  /** xml:base (an absolute URL the href is relative to), or null. */
  base: string | null;
}

export interface RepomdData {
  /** primary, filelists, other, updateinfo, primary_db, group, modules, … */
  type: string;
  location: RepomdLocation;
  /** Of the file as stored (compressed). */
  checksum: Checksum | null;
  /** Of the uncompressed content. */
  openChecksum: Checksum | null;
  /** zchunk header checksum. */
  headerChecksum: Checksum | null;
  timestamp: number | null;
  size: number | null;
  openSize: number | null;
  headerSize: number | null;
  databaseVersion: number | null;
}

export interface RepomdDistroTag {
  cpeid: string | null;
  value: string;
}

export interface Repomd {
  revision: string | null;
  tags: { content: string[]; repo: string[]; distro: RepomdDistroTag[] };
  data: RepomdData[];
}

/** The record of `type`, or null. */
export function findRepomdData(repomd: Repomd, type: string): RepomdData | null {
  return repomd.data.find((d) => d.type === type) ?? null;
}

type Field = 'revision' | 'content' | 'repo' | 'distro' | 'checksum' | 'open-checksum' | 'header-checksum' | 'timestamp' | 'size' | 'open-size' | 'header-size' | 'database_version';
const DATA_FIELDS = new Set<string>(['checksum', 'open-checksum', 'header-checksum', 'timestamp', 'size', 'open-size', 'header-size', 'database_version']);

/** Parses repomd.xml bytes. `fileName` names it in errors. */
export async function parseRepomd(bytes: Uint8Array, fileName: string): Promise<Repomd> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseRepomd: bytes must be a Uint8Array');
  if (typeof fileName !== 'string' || fileName === '') throw new TypeError('parseRepomd: fileName is required');
  if (bytes.length > MAX_REPOMD_SIZE) throw new XylemError(`${fileName}: repomd.xml is ${bytes.length} bytes, more than the limit of ${MAX_REPOMD_SIZE}`, 'ETOOBIG');
  const out: Repomd = { revision: null, tags: { content: [], repo: [], distro: [] }, data: [] };
  const stack: string[] = [];
  let cur: RepomdData | null = null;
  let curRaw: Record<string, string> = {};
  let field: Field | null = null;
  let fieldAttrs: Readonly<Record<string, string>> = {};
  let text = '';
  let sawRoot = false;
  await parseXmlStream(
    [bytes],
    {
      start(name, attrs) {
        const parent = stack[stack.length - 1];
        stack.push(name);
        if (stack.length === 1) {
          if (name !== 'repomd') throw new XylemError(`document element is <${name}>, not <repomd>`, 'EINVAL');
          sawRoot = true;
          return;
        }
        field = null;
        text = '';
        if (parent === 'repomd') {
          if (name === 'revision') field = 'revision';
          else if (name === 'data') {
            const type = attrs.type;
            if (!type) throw new XylemError('<data> without a type', 'EINVAL');
            if (out.data.some((d) => d.type === type)) throw new XylemError(`<data type="${type}"> appears twice`, 'EINVAL');
            if (out.data.length >= MAX_DATA) throw new XylemError(`more than ${MAX_DATA} <data> records`, 'ETOOBIG');
            cur = {
              type,
              location: { href: '', base: null },
              checksum: null,
              openChecksum: null,
              headerChecksum: null,
              timestamp: null,
              size: null,
              openSize: null,
              headerSize: null,
              databaseVersion: null,
            };
            curRaw = {};
          }
        } else if (parent === 'tags') {
          if (name === 'content' || name === 'repo' || name === 'distro') field = name;
        } else if (parent === 'data' && cur) {
          if (name === 'location') {
            const href = attrs.href;
            if (!href) throw new XylemError(`<data type="${cur.type}">: <location> without href`, 'EINVAL');
            cur.location = { href, base: attrs['xml:base'] || null };
          } else if (DATA_FIELDS.has(name)) field = name as Field;
        }
        fieldAttrs = attrs;
      },
      text(t) {
        if (field !== null) text += t;
      },
      end(name) {
        stack.pop();
        if (field !== null && name === field) {
          const v = text.trim();
          const f: Field = field;
          field = null;
          if (f === 'revision') out.revision = v;
          else if (f === 'content' || f === 'repo') out.tags[f].push(v);
          else if (f === 'distro') out.tags.distro.push({ cpeid: fieldAttrs.cpeid ?? null, value: v });
          else if (cur) {
            const what = `<data type="${cur.type}"> <${f}>`;
            if (Object.hasOwn(curRaw, f)) throw new XylemError(`${what} appears twice`, 'EINVAL');
            curRaw[f] = v;
            if (f === 'checksum' || f === 'open-checksum' || f === 'header-checksum') {
              const c = validateChecksum({ type: fieldAttrs.type ?? '', value: v }, what);
              if (f === 'checksum') cur.checksum = c;
              else if (f === 'open-checksum') cur.openChecksum = c;
              else cur.headerChecksum = c;
            } else if (f === 'timestamp') cur.timestamp = parseTime(v, what);
            else if (f === 'size') cur.size = parseCount(v, what);
            else if (f === 'open-size') cur.openSize = parseCount(v, what);
            else if (f === 'header-size') cur.headerSize = parseCount(v, what);
            else cur.databaseVersion = parseCount(v, what);
          }
          return;
        }
        if (name === 'data' && stack.length === 1 && cur) {
          if (cur.location.href === '') throw new XylemError(`<data type="${cur.type}"> has no <location href>`, 'EINVAL');
          out.data.push(cur);
          cur = null;
        }
      },
    },
    { fileName, limits: { maxDepth: 8, maxTextLength: 64 * 1024, maxTotalBytes: MAX_REPOMD_SIZE } },
  );
  if (!sawRoot) throw new XylemError(`${fileName}: no <repomd> element`, 'EINVAL');
  return out;
}

/**
 * When the repository's metadata was last updated: the highest <timestamp> of its records
 * (librepo's lr_yum_repomd_get_highest_timestamp, what dnf shows as Repo-updated and rpm-ostree
 * records in `rpmostree.rpmmd-repos`). Null when no record has one.
 */
export function repomdTimestamp(repomd: Repomd): number | null {
  let best: number | null = null;
  for (const d of repomd.data) if (d.timestamp !== null && (best === null || d.timestamp > best)) best = d.timestamp;
  return best;
}
