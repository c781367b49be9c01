// yum.repos.d `.repo` files, read as libdnf's ConfigParser and repo options read them: INI sections
// `[id]`, `key=value` lines (continuation lines start with white space; `#` and `;` comments),
// `$var` / `${var}` substitution ($releasever, $basearch, $arch, …), list options (baseurl, gpgkey,
// exclude/excludepkgs, includepkgs) split at white space and commas, booleans as
// 1/0/yes/no/true/false/on/off, metadata_expire in seconds with s/m/h/d suffixes (-1 or "never":
// never expires). Defaults are dnf 4's. A bad line is an error naming the file and line.

import { XylemError } from '../util/errors.ts';

/** One repository's configuration. */
export interface RepoConfig {
  /** The section name: letters, digits and `-_.:` only (it names the cache folder). */
  id: string;
  name: string;
  baseurl: string[];
  mirrorlist: string | null;
  metalink: string | null;
  enabled: boolean;
  /** Check package signatures (for the package downloader). */
  gpgcheck: boolean;
  /** Check repomd.xml's detached signature (repomd.xml.asc) against gpgkey. */
  repoGpgcheck: boolean;
  gpgkey: string[];
  /** Seconds; -1: never expires. */
  metadataExpire: number;
  /** Lower wins (default 99). */
  priority: number;
  cost: number;
  excludepkgs: string[];
  includepkgs: string[];
  skipIfUnavailable: boolean;
  /** Options this reader does not interpret, as written (after substitution). */
  extra: Record<string, string>;
  /** Where it came from (`file:line`), for messages. */
  source: string | null;
}

/** dnf 4's default metadata_expire: 48 hours. */
export const DEFAULT_METADATA_EXPIRE = 48 * 60 * 60;

/** Variables substituted in values (`releasever`, `basearch`, …). */
export type RepoVars = Readonly<Record<string, string>>;

const ID = /^[A-Za-z0-9_.:-]+$/;
/** Largest .repo file read. */
export const MAX_REPO_FILE_SIZE = 1024 * 1024;

/** A RepoConfig with dnf's defaults for what `partial` leaves out; validates it. */
export function makeRepoConfig(partial: Partial<RepoConfig> & { id: string }): RepoConfig {
  if (typeof partial !== 'object' || partial === null) throw new TypeError('makeRepoConfig: an object is required');
  validateRepoId(partial.id, 'makeRepoConfig');
  const cfg: RepoConfig = {
    id: partial.id,
    name: partial.name ?? partial.id,
    baseurl: partial.baseurl ?? [],
    mirrorlist: partial.mirrorlist ?? null,
    metalink: partial.metalink ?? null,
    enabled: partial.enabled ?? true,
    gpgcheck: partial.gpgcheck ?? false,
    repoGpgcheck: partial.repoGpgcheck ?? false,
    gpgkey: partial.gpgkey ?? [],
    metadataExpire: partial.metadataExpire ?? DEFAULT_METADATA_EXPIRE,
    priority: partial.priority ?? 99,
    cost: partial.cost ?? 1000,
    excludepkgs: partial.excludepkgs ?? [],
    includepkgs: partial.includepkgs ?? [],
    skipIfUnavailable: partial.skipIfUnavailable ?? false,
    extra: partial.extra ?? {},
    source: partial.source ?? null,
  };
  if (!Array.isArray(cfg.baseurl) || cfg.baseurl.some((u) => typeof u !== 'string')) throw new TypeError(`repo ${cfg.id}: baseurl must be a string array`);
  if (!Array.isArray(cfg.gpgkey) || cfg.gpgkey.some((u) => typeof u !== 'string')) throw new TypeError(`repo ${cfg.id}: gpgkey must be a string array`);
  if (!Number.isFinite(cfg.metadataExpire) || (cfg.metadataExpire < 0 && cfg.metadataExpire !== -1)) throw new TypeError(`repo ${cfg.id}: metadataExpire must be seconds or -1`);
  if (!Number.isInteger(cfg.priority) || !Number.isInteger(cfg.cost)) throw new TypeError(`repo ${cfg.id}: priority and cost must be integers`);
  return cfg;
}

/** Throws unless `id` is a repo id dnf accepts (and safe as a folder name). */
export function validateRepoId(id: unknown, what: string): void {
  if (typeof id !== 'string' || !ID.test(id) || /^\.+$/.test(id) || id.length > 200)
    throw new XylemError(`${what}: bad repo id '${String(id).slice(0, 60)}' (letters, digits and -_.: only)`, 'EINVAL');
}

/** `$name` and `${name}` replaced from `vars`; unknown variables stay as written (as dnf does). */
export function substituteVars(value: string, vars: RepoVars): string {
  return value.replace(/\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (m, a: string | undefined, b: string | undefined) => {
    const k = (a ?? b)!;
    return Object.hasOwn(vars, k) ? vars[k]! : m;
  });
}

/** libdnf's OptionBool. */
export function parseBool(v: string, what: string): boolean {
  const s = v.trim().toLowerCase();
  if (s === '1' || s === 'yes' || s === 'true' || s === 'on') return true;
  if (s === '0' || s === 'no' || s === 'false' || s === 'off') return false;
  throw new XylemError(`${what}: invalid boolean value '${v}'`, 'EINVAL');
}

/** libdnf's OptionSeconds: `-1`/`never`, or a number with an optional s/m/h/d suffix. */
export function parseSeconds(v: string, what: string): number {
  const s = v.trim().toLowerCase();
  if (s === '-1' || s === 'never') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(s);
  if (!m) throw new XylemError(`${what}: invalid duration '${v}' (seconds, or a number with s/m/h/d, or -1/never)`, 'EINVAL');
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n)) throw new XylemError(`${what}: duration '${v}' is too large`, 'EINVAL');
  return n;
}

function parseInteger(v: string, what: string): number {
  const s = v.trim();
  if (!/^-?\d{1,9}$/.test(s)) throw new XylemError(`${what}: invalid integer '${v}'`, 'EINVAL');
  return Number(s);
}

/** A list option split at white space and commas. */
export function splitList(v: string): string[] {
  return v.split(/[\s,]+/).filter((x) => x !== '');
}

interface RawSection {
  id: string;
  line: number;
  keys: Map<string, { value: string; line: number }>;
}

/**
 * Reads a .repo file's text into repo configs, in file order. `fileName` names it in errors;
 * `vars` are substituted in every value.
 */
export function parseRepoFile(text: string, opts: { fileName: string; vars?: RepoVars }): RepoConfig[] {
  if (typeof text !== 'string') throw new TypeError('parseRepoFile: text must be a string');
  if (typeof opts?.fileName !== 'string' || opts.fileName === '') throw new TypeError('parseRepoFile: opts.fileName is required');
  const file = opts.fileName;
  if (text.length > MAX_REPO_FILE_SIZE) throw new XylemError(`${file}: larger than ${MAX_REPO_FILE_SIZE} bytes`, 'ETOOBIG');
  const vars = opts.vars ?? {};
  const sections: RawSection[] = [];
  let cur: RawSection | null = null;
  let lastKey: { value: string; line: number } | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const at = `${file}:${lineNo}`;
    if (/^[ \t]/.test(raw) && raw.trim() !== '' && lastKey && !/^\s*[#;]/.test(raw)) {
      // A continuation of the previous value.
      lastKey.value += `\n${raw.trim()}`;
      continue;
    }
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) {
      if (line === '') lastKey = null;
      continue;
    }
    if (line.startsWith('[')) {
      const m = /^\[([^\]]*)\]$/.exec(line);
      if (!m) throw new XylemError(`${at}: bad section header '${line.slice(0, 80)}'`, 'EINVAL');
      const id = m[1]!.trim();
      validateRepoId(id, at);
      if (sections.some((s) => s.id === id)) throw new XylemError(`${at}: repository '${id}' is listed more than once`, 'EINVAL');
      cur = { id, line: lineNo, keys: new Map() };
      sections.push(cur);
      lastKey = null;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new XylemError(`${at}: expected 'key=value', found '${line.slice(0, 80)}'`, 'EINVAL');
    if (!cur) throw new XylemError(`${at}: option outside of any [section]`, 'EINVAL');
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new XylemError(`${at}: bad option name '${key.slice(0, 60)}'`, 'EINVAL');
    lastKey = { value: line.slice(eq + 1).trim(), line: lineNo };
    cur.keys.set(key, lastKey);
  }
  return sections.map((s) => sectionToConfig(s, file, vars));
}

function sectionToConfig(s: RawSection, file: string, vars: RepoVars): RepoConfig {
  const cfg = makeRepoConfig({ id: s.id, source: `${file}:${s.line}` });
  const lists = { exclude: [] as string[], include: [] as string[] };
  for (const [key, { value: rawValue, line }] of s.keys) {
    const what = `${file}:${line}: ${key}`;
    const value = substituteVars(rawValue, vars);
    switch (key) {
      case 'name':
        cfg.name = value;
        break;
      case 'baseurl':
        cfg.baseurl = splitList(value).map((u) => (u.startsWith('/') ? `file://${u}` : u));
        for (const u of cfg.baseurl) checkUrl(u, what);
        break;
      case 'mirrorlist':
        cfg.mirrorlist = value.trim() || null;
        if (cfg.mirrorlist) checkUrl(cfg.mirrorlist, what);
        break;
      case 'metalink':
        cfg.metalink = value.trim() || null;
        if (cfg.metalink) checkUrl(cfg.metalink, what);
        break;
      case 'enabled':
        cfg.enabled = parseBool(value, what);
        break;
      case 'gpgcheck':
        cfg.gpgcheck = parseBool(value, what);
        break;
      case 'repo_gpgcheck':
        cfg.repoGpgcheck = parseBool(value, what);
        break;
      case 'gpgkey':
        cfg.gpgkey = splitList(value);
        for (const u of cfg.gpgkey) checkUrl(u, what);
        break;
      case 'metadata_expire':
        cfg.metadataExpire = parseSeconds(value, what);
        break;
      case 'priority':
        cfg.priority = parseInteger(value, what);
        break;
      case 'cost':
        cfg.cost = parseInteger(value, what);
        break;
      case 'exclude':
      case 'excludepkgs':
        lists.exclude.push(...splitList(value));
        break;
      case 'includepkgs':
        lists.include.push(...splitList(value));
        break;
      case 'skip_if_unavailable':
        cfg.skipIfUnavailable = parseBool(value, what);
        break;
      default:
        cfg.extra[key] = value;
    }
  }
  cfg.excludepkgs = lists.exclude;
  cfg.includepkgs = lists.include;
  return cfg;
}

function checkUrl(u: string, what: string): void {
  if (!/^(https?|file|ftp):\/\/\S+$/i.test(u)) throw new XylemError(`${what}: '${u.slice(0, 100)}' is not a URL`, 'EINVAL');
}
