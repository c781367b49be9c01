// rpm-ostree treefiles (YAML or JSON): parsing, `include` flattening, `${variable}` substitution
// and validation, mirroring rust/src/treefile.rs (reference notes rpm-packages.md §7.1 and
// rpm-ostree.md §2.1). Merge rules as upstream: when a file includes another, lists from the
// included file come first and the including file's entries are appended; scalars and map keys set
// by the including file win. Unknown keys are refused naming the file. External files (add-files
// sources, postprocess-script) are read here so their bytes feed the input hash.

import type { FsHost } from '../host.ts';
import { XylemError } from '../util/errors.ts';
import { dirname, joinPath } from '../util/path.ts';
import { parse as parseYaml } from 'yaml';

/** A treefile larger than this is refused before it is parsed. */
export const MAX_TREEFILE_BYTES = 4 << 20;
/** Deepest include chain accepted (upstream stops at 50 too). */
export const MAX_INCLUDE_DEPTH = 50;
/** An external file (add-files source, postprocess-script) larger than this is refused. */
export const MAX_EXTERNAL_BYTES = 64 << 20;

type Kind = 'string' | 'bool' | 'list' | 'map' | 'pairs' | 'any' | 'include' | 'int-or-string';

/** Every key rpm-ostree's treefile schema knows (aliases included), with the shape we check. */
const KEYS: Record<string, Kind> = {
  edition: 'int-or-string',
  ref: 'string',
  basearch: 'string',
  releasever: 'int-or-string',
  repovars: 'map',
  variables: 'map',
  include: 'include',
  'arch-include': 'map',
  'conditional-include': 'any',
  repos: 'list',
  'lockfile-repos': 'list',
  packages: 'list',
  'repo-packages': 'any',
  'exclude-packages': 'list',
  'bootstrap-packages': 'list',
  recommends: 'bool',
  documentation: 'bool',
  'install-langs': 'list',
  'platform-module': 'string',
  modules: 'any',
  container: 'bool',
  'container-cmd': 'list',
  selinux: 'bool',
  'selinux-label-version': 'int-or-string',
  ima: 'bool',
  'ignore-devices': 'bool',
  'readonly-executables': 'bool',
  'boot-location': 'string',
  boot_location: 'string',
  'initramfs-args': 'list',
  'no-initramfs': 'bool',
  'tmp-is-dir': 'bool',
  'opt-usrlocal': 'string',
  'machineid-compat': 'bool',
  units: 'list',
  'default-target': 'string',
  default_target: 'string',
  cliwrap: 'bool',
  'cliwrap-binaries': 'list',
  'ostree-layers': 'list',
  'ostree-override-layers': 'list',
  'add-files': 'pairs',
  'remove-files': 'list',
  'remove-from-packages': 'any',
  postprocess: 'list',
  'postprocess-script': 'string',
  sysusers: 'string',
  'etc-group-members': 'list',
  'preserve-passwd': 'bool',
  'check-passwd': 'any',
  'check-groups': 'any',
  'ignore-removed-users': 'list',
  'ignore-removed-groups': 'list',
  'automatic-version-prefix': 'int-or-string',
  automatic_version_prefix: 'int-or-string',
  'automatic-version-suffix': 'string',
  'mutate-os-release': 'string',
  'add-commit-metadata': 'map',
  metadata: 'map',
  'gpg-key': 'string',
  gpg_key: 'string',
  rpmdb: 'string',
  'rpmdb-normalize': 'bool',
  'repo-metadata': 'string',
  'advisories-metadata': 'string',
  'rojig': 'any',
};

/** Underscore spellings upstream accepts for a few keys. */
const ALIASES: Record<string, string> = {
  boot_location: 'boot-location',
  default_target: 'default-target',
  automatic_version_prefix: 'automatic-version-prefix',
  gpg_key: 'gpg-key',
};

const LIST_KEYS = new Set(Object.entries(KEYS).filter(([, k]) => k === 'list' || k === 'pairs').map(([k]) => k));
LIST_KEYS.add('remove-from-packages');
LIST_KEYS.add('repo-packages');
LIST_KEYS.add('conditional-include');

/**
 * `check-passwd` / `check-groups` ({type: none|previous|file|data}): what the new tree's
 * usr/lib/passwd (group) is checked against. `file` names a passwd/group file (absolute, read with
 * the treefile); `data` maps names to [uid, gid] (groups: [gid, gid]).
 */
export type PasswdCheck = { type: 'none' } | { type: 'previous' } | { type: 'file'; path: string } | { type: 'data'; entries: Map<string, [number, number]> };

/** The flattened treefile, typed. Paths of external files are absolute (resolved where declared). */
export interface Treefile {
  ref: string;
  basearch: string;
  releasever: string | null;
  repos: string[];
  packages: string[];
  excludePackages: string[];
  recommends: boolean;
  documentation: boolean;
  installLangs: string[] | null;
  /** [absolute source path, destination in the tree]. */
  addFiles: Array<[string, string]>;
  removeFiles: string[];
  /** [package name, regular expressions over its file paths]. */
  removeFromPackages: Array<[string, RegExp[]]>;
  /** Inline scripts, in run order. */
  postprocess: string[];
  postprocessScript: string | null;
  units: string[];
  defaultTarget: string | null;
  etcGroupMembers: string[];
  bootLocation: 'new' | 'modules' | 'kernel-install';
  tmpIsDir: boolean;
  selinux: boolean;
  automaticVersionPrefix: string | null;
  automaticVersionSuffix: string;
  /** dracut arguments (`initramfs-args`); empty: rpm-ostree's default `--no-hostonly`. */
  initramfsArgs: string[];
  /** `no-initramfs`: keep the packaged initramfs (if any) instead of running dracut. */
  noInitramfs: boolean;
  /** `machineid-compat` (default true): an empty usr/etc/machine-id in the tree. */
  machineidCompat: boolean;
  /** `preserve-passwd` (default true): seed passwd/group from the previous commit (or the check file). */
  preservePasswd: boolean;
  /** `check-passwd` (default previous). */
  checkPasswd: PasswdCheck;
  /** `check-groups` (default previous). */
  checkGroups: PasswdCheck;
  ignoreRemovedUsers: string[];
  ignoreRemovedGroups: string[];
  /** `mutate-os-release`: the distribution version in os-release to follow the commit version. */
  mutateOsRelease: string | null;
  /** `rpmdb-normalize`: a reproducible rpmdb (install times from SOURCE_DATE_EPOCH). */
  rpmdbNormalize: boolean;
  /** `repo-packages`: packages installed from one named repo only (whitespace-split). */
  repoPackages: Array<{ repo: string; packages: string[] }>;
  /** `lockfile-repos`: repos whose packages are used only when a lockfile locks them. */
  lockfileRepos: string[];
  /** `ostree-layers`: refs of the target repo checked out over the packages (identical files only). */
  ostreeLayers: string[];
  /** `ostree-override-layers`: refs checked out after those, replacing files. */
  ostreeOverrideLayers: string[];
  /** `advisories-metadata` (default inline): `disabled` leaves rpmostree.advisories out. */
  advisoriesMetadata: 'inline' | 'disabled';
  /** `repo-metadata` (default inline): `disabled` leaves rpmostree.rpmmd-repos out. */
  repoMetadata: 'inline' | 'disabled';
  addCommitMetadata: Record<string, unknown>;
  repovars: Record<string, string>;
  /** Every key after flattening, for --print-only and the input hash (`include` removed). */
  flattened: Record<string, unknown>;
  /** Files this treefile depends on (the treefiles themselves, add-files, postprocess-script) and their bytes. */
  externals: Array<{ path: string; data: Uint8Array }>;
}

export interface LoadTreefileOptions {
  /** The architecture `${basearch}` and `packages-$basearch` use (default x86_64). */
  basearch?: string;
}

/** Lexical normalisation of a POSIX path (`.`/`..` resolved, duplicate slashes removed). */
export function normalizePath(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!abs) out.push('..');
    } else out.push(c);
  }
  const s = out.join('/');
  return abs ? `/${s}` : s === '' ? '.' : s;
}

async function readCapped(fs: FsHost, path: string, cap: number, what: string): Promise<Uint8Array> {
  if (path.includes('\0')) throw new XylemError(`${what} ${JSON.stringify(path)}: the path contains a NUL byte`, 'EINVAL');
  const st = await fs.stat(path);
  if (!st) throw new XylemError(`${what} ${path}: No such file or directory`, 'ENOENT');
  if (st.kind !== 'file') throw new XylemError(`${what} ${path}: not a regular file`, 'EINVAL');
  if (st.size > cap) throw new XylemError(`${what} ${path}: ${st.size} bytes is over the limit of ${cap}`, 'E2BIG');
  return fs.readFile(path);
}

function parseDocument(path: string, data: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new XylemError(`Parsing ${path}: the file is not valid UTF-8`, 'EINVAL');
  }
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100, uniqueKeys: true });
  } catch (e) {
    throw new XylemError(`Parsing ${path}: ${(e as Error).message.split('\n')[0]}`, 'EINVAL');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new XylemError(`Parsing ${path}: the treefile must be a mapping`, 'EINVAL');
  return doc as Record<string, unknown>;
}

function typeError(path: string, key: string, want: string): XylemError {
  return new XylemError(`Parsing ${path}: invalid type for \`${key}\`: expected ${want}`, 'EINVAL');
}

/** Checks one file's keys and value shapes; returns a copy with aliases renamed. */
function checkKeys(path: string, doc: Record<string, unknown>, basearch: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, v] of Object.entries(doc)) {
    let k = rawKey;
    if (/^packages-[A-Za-z0-9_]+$/.test(k)) {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw typeError(path, k, 'a sequence of strings');
      if (k === `packages-${basearch}`) out.packages = [...((out.packages as string[]) ?? []), ...(v as string[])];
      continue;
    }
    const kind = KEYS[k];
    if (kind === undefined) throw new XylemError(`Parsing ${path}: unknown field \`${rawKey}\``, 'EINVAL');
    k = ALIASES[k] ?? k;
    switch (kind) {
      case 'string':
        if (typeof v !== 'string') throw typeError(path, k, 'a string');
        break;
      case 'bool':
        if (typeof v !== 'boolean') throw typeError(path, k, 'a boolean');
        break;
      case 'int-or-string':
        if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) throw typeError(path, k, 'a string or an integer');
        break;
      case 'list':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw typeError(path, k, 'a sequence of strings');
        break;
      case 'map':
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw typeError(path, k, 'a mapping');
        break;
      case 'pairs':
        if (!Array.isArray(v) || !v.every((x) => Array.isArray(x) && x.length === 2 && x.every((y) => typeof y === 'string')))
          throw typeError(path, k, 'a sequence of [source, destination] pairs');
        break;
      case 'include':
        if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw typeError(path, k, 'a string or a sequence of strings');
        break;
      case 'any':
        break;
    }
    if (k === 'packages') out.packages = [...(v as string[]), ...((out.packages as string[]) ?? [])];
    else out[k] = v;
  }
  if (out['remove-from-packages'] !== undefined) {
    const r = out['remove-from-packages'];
    if (!Array.isArray(r) || !r.every((x) => Array.isArray(x) && x.length >= 2 && x.every((y) => typeof y === 'string')))
      throw typeError(path, 'remove-from-packages', 'a sequence of [package, regex…] lists');
  }
  return out;
}

/** Merges an included file's keys under the including file's (lists: included first; the rest: includer wins). */
function mergeInto(dest: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    if (k === 'include' || k === 'arch-include') continue;
    const cur = dest[k];
    if (cur === undefined) dest[k] = v;
    else if (LIST_KEYS.has(k) || k === 'packages') dest[k] = [...(v as unknown[]), ...(cur as unknown[])];
    else if (KEYS[k] === 'map') dest[k] = { ...(v as object), ...(cur as object) };
  }
}

interface Loaded {
  doc: Record<string, unknown>;
  externals: Array<{ path: string; data: Uint8Array }>;
}

async function loadOne(fs: FsHost, path: string, basearch: string, stack: string[]): Promise<Loaded> {
  if (stack.includes(path)) throw new XylemError(`Include loop detected: ${[...stack, path].join(' -> ')}`, 'ELOOP');
  if (stack.length >= MAX_INCLUDE_DEPTH) throw new XylemError(`Parsing ${path}: include depth over ${MAX_INCLUDE_DEPTH}`, 'ELOOP');
  const data = await readCapped(fs, path, MAX_TREEFILE_BYTES, 'Treefile');
  const doc = checkKeys(path, parseDocument(path, data), basearch);
  const dir = dirname(path);
  const externals: Loaded['externals'] = [{ path, data }];
  // Paths of external files resolve against the file that names them.
  if (doc['add-files']) {
    const pairs = doc['add-files'] as Array<[string, string]>;
    doc['add-files'] = pairs.map(([src, dest]) => [normalizePath(joinPath(dir, src)), dest]);
  }
  if (typeof doc['postprocess-script'] === 'string') doc['postprocess-script'] = normalizePath(joinPath(dir, doc['postprocess-script']));
  for (const key of ['check-passwd', 'check-groups']) {
    const v = doc[key];
    if (v === undefined) continue;
    if (v === null || typeof v !== 'object' || Array.isArray(v) || typeof (v as { type?: unknown }).type !== 'string') throw typeError(path, key, 'a mapping with a `type` (none, previous, file or data)');
    const c = v as Record<string, unknown>;
    if (c.type === 'file') {
      if (typeof c.filename !== 'string' || c.filename === '') throw typeError(path, `${key}.filename`, 'a file name');
      doc[key] = { ...c, filename: normalizePath(joinPath(dir, c.filename)) };
    }
  }
  const includes: string[] = [];
  if (doc.include !== undefined) includes.push(...(typeof doc.include === 'string' ? [doc.include] : (doc.include as string[])));
  const archInc = doc['arch-include'] as Record<string, unknown> | undefined;
  if (archInc && archInc[basearch] !== undefined) {
    const v = archInc[basearch];
    if (typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw typeError(path, 'arch-include', 'file names');
    includes.push(...(typeof v === 'string' ? [v] : (v as string[])));
  }
  if (doc['conditional-include'] !== undefined) throw new XylemError(`Parsing ${path}: \`conditional-include\` is not supported by rpm-xylem`, 'ENOTSUP');
  const merged: Record<string, unknown> = { ...doc };
  delete merged.include;
  delete merged['arch-include'];
  // As upstream, each include is merged in turn and prepends its lists: with `include: [a, b]`
  // lists read b, a, this file (the order rpm-ostree runs inline postprocess scripts in), and a
  // scalar from a wins over one from b.
  const childExternals: Loaded['externals'] = [];
  for (const inc of includes) {
    const child = await loadOne(fs, normalizePath(joinPath(dir, inc)), basearch, [...stack, path]);
    childExternals.push(...child.externals);
    mergeInto(merged, child.doc);
  }
  return { doc: merged, externals: [...childExternals, ...externals] };
}

/**
 * Keys rpm-xylem parses and cannot honour: refused (naming the key) unless they hold the value
 * that means "nothing to do", so a treefile never silently loses behaviour.
 */
const UNSUPPORTED: Array<[string, (v: unknown) => boolean, string]> = [
  ['platform-module', () => false, 'modularity'],
  ['modules', () => false, 'modularity'],
  ['container', (v) => v === false, 'container composes'],
  ['container-cmd', (v) => Array.isArray(v) && v.length === 0, 'container composes'],
  ['selinux-label-version', (v) => Number(v) === 0, 'SELinux label versions'],
  ['ima', (v) => v === false, 'IMA signatures'],
  ['ignore-devices', (v) => v === true, 'device nodes in packages'],
  ['readonly-executables', (v) => v === false, 'read-only executables'],
  ['opt-usrlocal', (v) => v === 'var', 'opt-usrlocal other than var'],
  ['cliwrap', (v) => v === false, 'cliwrap'],
  ['cliwrap-binaries', (v) => Array.isArray(v) && v.length === 0, 'cliwrap'],
  ['sysusers', () => false, 'systemd-sysusers in compose'],
  ['metadata', (v) => v !== null && typeof v === 'object' && Object.keys(v).length === 0, 'the legacy `metadata` key (use add-commit-metadata)'],
  ['gpg-key', () => false, 'signing in compose (sign afterwards with `xylem gpg-sign`)'],
  ['rpmdb', (v) => v === 'target' || v === 'host', 'rpmdb backends other than sqlite'],
  ['advisories-metadata', (v) => v === 'inline' || v === 'disabled', 'detached advisories metadata'],
  ['rojig', () => false, 'rojig'],
];

function refuseUnsupported(top: string, doc: Record<string, unknown>): void {
  for (const [key, harmless, what] of UNSUPPORTED) {
    if (doc[key] === undefined || harmless(doc[key])) continue;
    throw new XylemError(`${top}: \`${key}\` is not supported by rpm-xylem (${what})`, 'ENOTSUP');
  }
}

function passwdCheck(top: string, key: string, v: unknown, groups: boolean): PasswdCheck {
  if (v === undefined) return { type: 'previous' };
  const c = v as Record<string, unknown>;
  const allowed = c.type === 'file' ? ['type', 'filename'] : c.type === 'data' ? ['type', 'entries'] : ['type'];
  for (const k of Object.keys(c)) if (!allowed.includes(k)) throw new XylemError(`${top}: ${key}: unknown field \`${k}\` for type ${String(c.type)}`, 'EINVAL');
  if (c.type === 'none' || c.type === 'previous') return { type: c.type };
  if (c.type === 'file') return { type: 'file', path: c.filename as string };
  if (c.type !== 'data') throw new XylemError(`${top}: ${key}: unknown type '${String(c.type)}' (none, previous, file or data)`, 'EINVAL');
  const e = c.entries;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) throw typeError(top, `${key}.entries`, 'a mapping of names to ids');
  const entries = new Map<string, [number, number]>();
  const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
  for (const [name, id] of Object.entries(e as Record<string, unknown>)) {
    if (groups) {
      if (!isId(id)) throw typeError(top, `${key}.entries.${name}`, 'a gid');
      entries.set(name, [id, id]);
    } else if (isId(id)) entries.set(name, [id, id]);
    else if (Array.isArray(id) && id.length === 1 && isId(id[0])) entries.set(name, [id[0], id[0]]);
    else if (Array.isArray(id) && id.length === 2 && isId(id[0]) && isId(id[1])) entries.set(name, [id[0], id[1]]);
    else throw typeError(top, `${key}.entries.${name}`, 'a uid, [uid] or [uid, gid]');
  }
  return { type: 'data', entries };
}

/** Replaces `${name}` from `vars`; an unknown variable is an error naming the file. */
export function substituteVariables(s: string, vars: Record<string, string>, what: string): string {
  return s.replace(/\$\{([^}]*)\}/g, (_m, name: string) => {
    if (!(name in vars)) throw new XylemError(`${what}: unknown variable '${name}' in '${s}'`, 'EINVAL');
    return vars[name]!;
  });
}

function stringMap(v: unknown, key: string, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries((v as Record<string, unknown>) ?? {})) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw typeError(path, `${key}.${k}`, 'a scalar');
    out[k] = String(x);
  }
  return out;
}

/** Loads, flattens and validates the treefile at `path` (YAML, or JSON when it ends in .json). */
export async function loadTreefile(fs: FsHost, path: string, opts: LoadTreefileOptions = {}): Promise<Treefile> {
  if (typeof path !== 'string' || path === '') throw new TypeError('loadTreefile: a path is required');
  const basearch = opts.basearch ?? 'x86_64';
  if (!/^[A-Za-z0-9_]+$/.test(basearch)) throw new TypeError(`loadTreefile: invalid basearch '${basearch}'`);
  const top = normalizePath(path);
  const { doc, externals } = await loadOne(fs, top, basearch, []);
  if (typeof doc.basearch === 'string' && doc.basearch !== basearch) throw new XylemError(`${top}: basearch '${doc.basearch}' does not match ${basearch}`, 'EINVAL');
  const releasever = doc.releasever === undefined ? null : String(doc.releasever);
  const vars: Record<string, string> = { basearch, ...stringMap(doc.variables, 'variables', top) };
  if (releasever !== null) vars.releasever = releasever;
  if (typeof doc.ref !== 'string' || doc.ref === '') throw new XylemError(`${top}: the treefile has no \`ref\``, 'EINVAL');
  const ref = substituteVariables(doc.ref, vars, top);
  if (!/^[\w\d][-._\w\d]*(\/[\w\d][-._\w\d]*)*$/.test(ref)) throw new XylemError(`${top}: invalid ref '${ref}'`, 'EINVAL');
  const packages = [...((doc.packages as string[]) ?? []), ...((doc['bootstrap-packages'] as string[]) ?? [])].flatMap((p) => p.split(/\s+/).filter((x) => x !== ''));
  if (packages.length === 0) throw new XylemError(`${top}: the treefile lists no \`packages\``, 'EINVAL');
  const bootLocation = (doc['boot-location'] as string | undefined) ?? (doc.edition !== undefined && Number(doc.edition) >= 2024 ? 'modules' : 'new');
  if (bootLocation !== 'new' && bootLocation !== 'modules' && bootLocation !== 'kernel-install') throw new XylemError(`${top}: invalid boot-location '${bootLocation}'`, 'EINVAL');
  const suffix = (doc['automatic-version-suffix'] as string | undefined) ?? '.';
  if ([...suffix].length !== 1) throw new XylemError(`${top}: automatic-version-suffix must be one character`, 'EINVAL');
  const removeFromPackages = ((doc['remove-from-packages'] as string[][]) ?? []).map(([pkg, ...res]): [string, RegExp[]] => {
    return [
      pkg!,
      res.map((r) => {
        try {
          return new RegExp(r);
        } catch (e) {
          throw new XylemError(`${top}: remove-from-packages: invalid regular expression '${r}': ${(e as Error).message}`, 'EINVAL');
        }
      }),
    ];
  });
  const addFiles = (doc['add-files'] as Array<[string, string]>) ?? [];
  for (const [, dest] of addFiles) if (!dest.startsWith('/') || dest.split('/').includes('..')) throw new XylemError(`${top}: add-files destination '${dest}' must be absolute and stay in the tree`, 'EINVAL');
  for (const f of (doc['remove-files'] as string[]) ?? []) if (f.startsWith('/') || f.split('/').includes('..')) throw new XylemError(`${top}: remove-files entry '${f}' must be relative and stay in the tree`, 'EINVAL');
  const seen = new Set(externals.map((e) => e.path));
  for (const [src] of addFiles) {
    if (seen.has(src)) continue;
    seen.add(src);
    externals.push({ path: src, data: await readCapped(fs, src, MAX_EXTERNAL_BYTES, 'add-files source') });
  }
  const script = (doc['postprocess-script'] as string | undefined) ?? null;
  if (script !== null && !seen.has(script)) externals.push({ path: script, data: await readCapped(fs, script, MAX_EXTERNAL_BYTES, 'postprocess-script') });
  refuseUnsupported(top, doc);
  const repoPackages = ((doc['repo-packages'] as unknown[] | undefined) ?? []).map((rp, i) => {
    const o = rp as Record<string, unknown>;
    if (o === null || typeof o !== 'object' || Array.isArray(o) || typeof o.repo !== 'string' || !Array.isArray(o.packages) || !o.packages.every((x) => typeof x === 'string'))
      throw typeError(top, `repo-packages[${i}]`, 'a mapping {repo, packages}');
    for (const k of Object.keys(o)) if (k !== 'repo' && k !== 'packages') throw new XylemError(`${top}: repo-packages[${i}]: unknown field \`${k}\``, 'EINVAL');
    return { repo: o.repo, packages: (o.packages as string[]).flatMap((p) => p.split(/\s+/).filter((x) => x !== '')) };
  });
  const edition = doc.edition === undefined ? 2014 : Number(doc.edition);
  if (edition !== 2014 && edition !== 2024) throw new XylemError(`${top}: unknown edition '${String(doc.edition)}' (2014 or 2024)`, 'EINVAL');
  const checkPasswd = passwdCheck(top, 'check-passwd', doc['check-passwd'], false);
  const checkGroups = passwdCheck(top, 'check-groups', doc['check-groups'], true);
  for (const c of [checkPasswd, checkGroups])
    if (c.type === 'file' && !seen.has(c.path)) {
      seen.add(c.path);
      externals.push({ path: c.path, data: await readCapped(fs, c.path, MAX_EXTERNAL_BYTES, 'check-passwd/check-groups file') });
    }
  // Upstream refuses mixing: passwd data from a file and group data from the previous commit, or the reverse.
  const preservePasswd = (doc['preserve-passwd'] as boolean | undefined) ?? true;
  if (preservePasswd && (checkPasswd.type === 'file') !== (checkGroups.type === 'file'))
    throw new XylemError(
      checkPasswd.type === 'file' ? `${top}: configured to migrate passwd data from JSON, and group data from commit` : `${top}: configured to migrate passwd data from commit, and group data from JSON`,
      'EINVAL',
    );
  const repoMetadata = (doc['repo-metadata'] as string | undefined) ?? 'inline';
  if (repoMetadata !== 'inline' && repoMetadata !== 'disabled') throw new XylemError(`${top}: repo-metadata '${repoMetadata}' is not supported by rpm-xylem (inline or disabled)`, 'ENOTSUP');
  const avp = doc['automatic-version-prefix'];
  const flattened: Record<string, unknown> = { ...doc, ref, packages };
  return {
    ref,
    basearch,
    releasever,
    repos: (doc.repos as string[]) ?? [],
    packages,
    excludePackages: ((doc['exclude-packages'] as string[]) ?? []).flatMap((p) => p.split(/\s+/).filter((x) => x !== '')),
    recommends: (doc.recommends as boolean | undefined) ?? true,
    documentation: (doc.documentation as boolean | undefined) ?? true,
    installLangs: (doc['install-langs'] as string[] | undefined) ?? null,
    addFiles,
    removeFiles: (doc['remove-files'] as string[]) ?? [],
    removeFromPackages,
    postprocess: (doc.postprocess as string[]) ?? [],
    postprocessScript: script,
    units: (doc.units as string[]) ?? [],
    defaultTarget: (doc['default-target'] as string | undefined) ?? null,
    etcGroupMembers: (doc['etc-group-members'] as string[]) ?? [],
    bootLocation,
    tmpIsDir: (doc['tmp-is-dir'] as boolean | undefined) ?? edition >= 2024,
    selinux: (doc.selinux as boolean | undefined) ?? true,
    automaticVersionPrefix: avp === undefined ? null : String(avp),
    automaticVersionSuffix: suffix,
    initramfsArgs: (doc['initramfs-args'] as string[] | undefined) ?? [],
    noInitramfs: (doc['no-initramfs'] as boolean | undefined) ?? false,
    machineidCompat: (doc['machineid-compat'] as boolean | undefined) ?? true,
    preservePasswd,
    checkPasswd,
    checkGroups,
    ignoreRemovedUsers: (doc['ignore-removed-users'] as string[] | undefined) ?? [],
    ignoreRemovedGroups: (doc['ignore-removed-groups'] as string[] | undefined) ?? [],
    mutateOsRelease: (doc['mutate-os-release'] as string | undefined) ?? null,
    rpmdbNormalize: (doc['rpmdb-normalize'] as boolean | undefined) ?? false,
    repoMetadata,
    advisoriesMetadata: (doc['advisories-metadata'] as 'inline' | 'disabled' | undefined) ?? 'inline',
    repoPackages,
    lockfileRepos: (doc['lockfile-repos'] as string[] | undefined) ?? [],
    ostreeLayers: (doc['ostree-layers'] as string[] | undefined) ?? [],
    ostreeOverrideLayers: (doc['ostree-override-layers'] as string[] | undefined) ?? [],
    addCommitMetadata: { ...((doc['add-commit-metadata'] as Record<string, unknown>) ?? {}) },
    repovars: stringMap(doc.repovars, 'repovars', top),
    flattened,
    externals,
  };
}

/** The flattened treefile as `compose tree --print-only` prints it (JSON, keys sorted, 2-space indent). */
export function printTreefile(tf: Treefile): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(tf.flattened).sort()) sorted[k] = tf.flattened[k];
  return `${JSON.stringify(sorted, null, 2)}\n`;
}
