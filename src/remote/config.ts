// Remote configuration as libostree models it: `[remote "NAME"]` groups in the repo config, plus
// `.conf` files in a remotes config dir (`etc/ostree/remotes.d` of a deployed sysroot, or an
// explicit directory), inherited through `core.parent` repos. Adds, replaces and deletes remotes
// writing exactly what ostree writes, and reads their options with ostree's defaults.
// Listing a remote's refs goes through a pluggable RemoteFetcher (file:// and http(s):// built in)
// and a summary verifier (the signing module's), so no summary is read unchecked.

import type { FsHost, Host } from '../host.ts';
import { KeyFile } from '../format/keyfile.ts';
import { decode, type GVValue } from '../format/gvariant.ts';
import { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { joinPath } from '../util/path.ts';
import { fromUtf8, textEncoder, toHex } from '../util/bytes.ts';
import { NotFoundError, XylemError, errnoCode } from '../util/errors.ts';
import { readBodyCapped } from '../util/read-body.ts';
import { fetchMetalinkTarget } from './metalink.ts';
import { fetchFromMirrors, resolveUrlValue } from './mirrors.ts';

/** One configured remote. */
export interface Remote {
  name: string;
  /** Its key file group: `remote "NAME"`. */
  group: string;
  /** File name of its GPG keyring inside the repo directory (NAME.trustedkeys.gpg). */
  keyring: string;
  /** The remotes.d `.conf` file defining it, or null when it lives in the repo config. */
  file: string | null;
  /** A key file holding only this remote's group. */
  options: KeyFile;
}

/** A value for a remote option: strings as set_string, booleans as set_boolean, lists as set_string_list. */
export type RemoteOptionValue = string | boolean | string[];

/** Options in the order they are applied (later duplicates overwrite in place, as GKeyFile does). */
export type RemoteOptions = Array<[string, RemoteOptionValue]> | Record<string, RemoteOptionValue>;

export interface AddRemoteOptions {
  /** Extra keys for the remote's group (applied after `branches`, before `collectionId`). */
  options?: RemoteOptions;
  /** Do nothing when the remote already exists. */
  ifNotExists?: boolean;
  /** Replace an existing remote's whole group. */
  force?: boolean;
  /** Written as the `branches` list (first, like `ostree remote add NAME URL BRANCH…`). */
  branches?: string[];
  /** Written as `collection-id` (last, like `--collection-id`). */
  collectionId?: string;
}

/**
 * Where a repo's remotes come from besides its config. libostree decides this from how the repo was
 * opened: through a sysroot (`--sysroot`), as the system repo /ostree/repo, or with an explicit
 * remotes-config-dir (flatpak).
 */
export interface RemoteScope {
  /** The sysroot the repo was opened through. */
  sysroot?: string;
  /** A physical sysroot (not a deployment) keeps its remotes in the repo config. */
  physical?: boolean;
  /** libostree's remotes-config-dir property (resolved against the sysroot when there is one). */
  remotesConfigDir?: string;
}

const REMOTE_NAME = /^[\p{L}\p{N}_][-._\p{L}\p{N}_]*$/u;
const REMOTE_GROUP = /^remote "(.+)"$/;
/** Cap on a remotes.d file or summary we are willing to read. */
const MAX_CONFIG_SIZE = 16 * 1024 * 1024;
const MAX_SUMMARY_SIZE = 256 * 1024 * 1024;

const scopes = new WeakMap<Repo, RemoteScope>();

/** ostree_validate_remote_name: OSTREE_REF_FRAGMENT_REGEXP with GRegex's Unicode \w. */
export function isValidRemoteName(name: string): boolean {
  return typeof name === 'string' && REMOTE_NAME.test(name);
}

export function validateRemoteName(name: string): void {
  if (!isValidRemoteName(name)) throw new XylemError(`Invalid remote name ${name}`);
}

/** True for the pseudo-remotes ostree accepts as a name: a file:// URL (pull-local compatibility). */
export function remoteNameIsFile(name: string): boolean {
  return name.startsWith('file://');
}

/** Declares how `repo` was opened (see RemoteScope). */
export function setRemoteScope(repo: Repo, scope: RemoteScope): void {
  if (!(repo instanceof Repo)) throw new TypeError('setRemoteScope: repo must be a Repo');
  scopes.set(repo, { ...scope });
}

/**
 * Opens the repo of a sysroot (SYSROOT/ostree/repo) like `ostree --sysroot=DIR`: it is a system
 * repo, and when the sysroot is a deployment (it has a /sysroot inside) new remotes go to its
 * etc/ostree/remotes.d unless core.add-remotes-config-dir is false.
 */
export async function openSysrootRepo(host: Host, sysroot: string): Promise<Repo> {
  if (typeof sysroot !== 'string' || sysroot === '') throw new XylemError('A sysroot path is required');
  const repo = await Repo.open(host, joinPath(sysroot, 'ostree/repo'));
  const physical = (await host.fs.stat(joinPath(sysroot, 'sysroot'))) === null;
  setRemoteScope(repo, { sysroot, physical });
  return repo;
}

interface ResolvedScope {
  /** Where remotes.d-style files are read from and (when addToDir) written to; null for none. */
  dir: string | null;
  isSystem: boolean;
}

async function resolveScope(repo: Repo): Promise<ResolvedScope> {
  let scope = scopes.get(repo);
  if (!scope) {
    // ostree_repo_open: a repo that is /ostree/repo itself has the sysroot "/".
    scope = {};
    const [sys, self] = await Promise.all([repo.fs.stat('/ostree/repo'), repo.fs.stat(repo.path)]);
    if (sys && self && sys.dev === self.dev && sys.ino === self.ino) scope = { sysroot: '/', physical: false };
    scopes.set(repo, scope);
  }
  const isSystem = scope.sysroot !== undefined;
  const sysroot = scope.sysroot !== undefined && !scope.physical ? scope.sysroot : undefined;
  let dir: string | null = null;
  if (scope.remotesConfigDir !== undefined) dir = sysroot ? joinPath(sysroot, scope.remotesConfigDir) : scope.remotesConfigDir;
  else if (sysroot) dir = joinPath(sysroot, 'etc/ostree/remotes.d');
  return { dir, isSystem };
}

/** The directory remotes.d-style files of `repo` are read from, or null when it has none. */
export async function remotesConfigDir(repo: Repo): Promise<string | null> {
  return (await resolveScope(repo)).dir;
}

/** Copies one group (raw values, in order) from `from` into `to`, as ot_keyfile_copy_group. */
function copyGroup(from: KeyFile, to: KeyFile, group: string): void {
  for (const key of from.keys(group)) to.setRaw(group, key, from.getRaw(group, key)!);
}

function newRemote(name: string, file: string | null): Remote {
  return { name, group: `remote "${name}"`, keyring: `${name}.trustedkeys.gpg`, file, options: new KeyFile() };
}

function addRemotesFromKeyFile(table: Map<string, Remote>, kf: KeyFile, file: string | null): void {
  const found: Remote[] = [];
  for (const group of kf.groups()) {
    const m = REMOTE_GROUP.exec(group);
    if (!m) continue;
    const remote = newRemote(m[1]!, file);
    copyGroup(kf, remote.options, group);
    if (table.has(remote.name)) throw new XylemError(`Multiple specifications found for remote "${remote.name}"`);
    found.push(remote);
  }
  for (const r of found) table.set(r.name, r);
}

async function readTextCapped(fs: FsHost, path: string, cap: number): Promise<string> {
  const st = await fs.stat(path);
  if (st && st.size > cap) throw new XylemError(`${path}: file too large (${st.size} bytes)`);
  return fromUtf8(await fs.readFile(path));
}

/** The remotes defined by this repo itself (its config and remotes dir), not its parents. */
export async function loadOwnRemotes(repo: Repo): Promise<Map<string, Remote>> {
  const table = new Map<string, Remote>();
  addRemotesFromKeyFile(table, repo.config, null);
  const { dir } = await resolveScope(repo);
  if (dir === null) return table;
  let entries;
  try {
    entries = await repo.fs.readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return table;
    throw e;
  }
  for (const ent of entries) {
    if (!ent.name.endsWith('.conf')) continue;
    const path = joinPath(dir, ent.name);
    const kind = ent.kind === 'symlink' ? (await repo.fs.stat(path))?.kind : ent.kind;
    if (kind !== 'file') continue;
    const kf = KeyFile.parse(await readTextCapped(repo.fs, path, MAX_CONFIG_SIZE), path, { keepComments: false });
    addRemotesFromKeyFile(table, kf, path);
  }
  return table;
}

/** The repo named by core.parent, opened (null when there is none). */
export async function openParentRepo(repo: Repo): Promise<Repo | null> {
  const parent = repo.config.get('core', 'parent');
  if (!parent) return null;
  try {
    return await Repo.open(repo.host, parent);
  } catch (e) {
    throw new XylemError(`While checking parent repository '${parent}': ${(e as Error).message}`);
  }
}

/** A remote defined by this repo (not its parents); throws `Remote "NAME" not found` like ostree. */
export async function getRemote(repo: Repo, name: string): Promise<Remote> {
  if (typeof name !== 'string' || name === '') throw new XylemError('A remote name is required');
  const r = (await loadOwnRemotes(repo)).get(name);
  if (!r) throw new NotFoundError(`Remote "${name}" not found`);
  return r;
}

/** A remote defined by this repo or, failing that, by its parent chain. */
export async function getRemoteInherited(repo: Repo, name: string): Promise<Remote> {
  for (let r: Repo | null = repo; r !== null; r = await openParentRepo(r)) {
    const found = (await loadOwnRemotes(r)).get(name);
    if (found) return found;
  }
  throw new NotFoundError(`Remote "${name}" not found`);
}

/** Where pulls cache a remote's summary and summary.sig (ostree's tmp/cache/summaries). */
export function summaryCacheDir(repo: Repo): string {
  return joinPath(repo.path, 'tmp', 'cache', 'summaries');
}

/**
 * Deletes cached summaries (`NAME` and `NAME.sig` under tmp/cache/summaries) of remotes this repo
 * no longer defines, as libostree's prune does after pruning objects. Returns the names removed.
 */
export async function pruneSummaryCache(repo: Repo): Promise<string[]> {
  const dir = summaryCacheDir(repo);
  let entries;
  try {
    entries = await repo.fs.readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw e;
  }
  const remotes = await loadOwnRemotes(repo);
  const removed: string[] = [];
  for (const ent of entries) {
    const remote = ent.name.length > 4 && ent.name.endsWith('.sig') ? ent.name.slice(0, -4) : ent.name;
    if (remotes.has(remote) || ent.kind === 'dir') continue;
    try {
      await repo.fs.unlink(joinPath(dir, ent.name));
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw new XylemError(`Removing cached summary ${joinPath(dir, ent.name)}: ${(e as Error).message}`);
    }
    removed.push(ent.name);
  }
  return removed;
}

/** Names of all remotes (own and inherited), sorted by byte order like ostree_repo_remote_list. */
export async function listRemotes(repo: Repo): Promise<string[]> {
  const names = new Set<string>();
  for (let r: Repo | null = repo; r !== null; r = await openParentRepo(r)) {
    for (const n of (await loadOwnRemotes(r)).keys()) names.add(n);
  }
  return [...names].sort(compareBytes);
}

/** strcmp order: code point order equals UTF-8 byte order. */
function compareBytes(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done ? (y.done ? 0 : -1) : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

/**
 * Looks an option up through the parent chain with ostree's rules: a file:// name or an unset
 * option gives the default; an unknown remote throws `Remote "NAME" not found`.
 */
async function lookupOption<T>(
  repo: Repo,
  name: string,
  read: (r: Remote) => T | undefined,
  dflt: T,
): Promise<T> {
  if (remoteNameIsFile(name)) return dflt;
  let seen = false;
  for (let r: Repo | null = repo; r !== null; r = await openParentRepo(r).catch((e) => (seen ? null : Promise.reject(e)))) {
    const remote = (await loadOwnRemotes(r).catch((e) => (seen ? new Map<string, Remote>() : Promise.reject(e)))).get(name);
    if (!remote) continue;
    seen = true;
    const v = read(remote);
    if (v !== undefined) return v;
  }
  if (!seen) throw new NotFoundError(`Remote "${name}" not found`);
  return dflt;
}

/** ostree_repo_get_remote_option: the (unescaped) string value of `key`, or `dflt`. */
export async function remoteOption(repo: Repo, name: string, key: string, dflt: string | null = null): Promise<string | null> {
  return lookupOption<string | null>(repo, name, (r) => r.options.get(r.group, key), dflt);
}

/** ostree_repo_get_remote_boolean_option. */
export async function remoteBooleanOption(repo: Repo, name: string, key: string, dflt: boolean): Promise<boolean> {
  return lookupOption(repo, name, (r) => r.options.getBoolean(r.group, key), dflt);
}

/** ostree_repo_get_remote_list_option: the list, or null when unset. */
export async function remoteListOption(repo: Repo, name: string, key: string): Promise<string[] | null> {
  return lookupOption<string[] | null>(repo, name, (r) => r.options.getStringList(r.group, key), null);
}

/** ostree_repo_remote_get_url: a file:// name is its own URL. */
export async function getRemoteUrl(repo: Repo, name: string): Promise<string> {
  if (remoteNameIsFile(name)) return name;
  const url = await remoteOption(repo, name, 'url', null);
  if (url === null) throw new NotFoundError(`No "url" option in remote "${name}"`);
  return url;
}

/** gpg-verify (default true; false for file:// names). */
export async function remoteGpgVerify(repo: Repo, name: string): Promise<boolean> {
  if (remoteNameIsFile(name)) return false;
  return remoteBooleanOption(repo, name, 'gpg-verify', true);
}

/** gpg-verify-summary (default false). */
export async function remoteGpgVerifySummary(repo: Repo, name: string): Promise<boolean> {
  return remoteBooleanOption(repo, name, 'gpg-verify-summary', false);
}

function optionEntries(opts: RemoteOptions | undefined): Array<[string, RemoteOptionValue]> {
  if (opts === undefined) return [];
  const entries = Array.isArray(opts) ? opts : Object.entries(opts);
  for (const e of entries) {
    if (!Array.isArray(e) || typeof e[0] !== 'string') throw new TypeError('remote options must be [key, value] pairs');
    const v = e[1];
    const ok = typeof v === 'string' || typeof v === 'boolean' || (Array.isArray(v) && v.every((s) => typeof s === 'string'));
    if (!ok) throw new TypeError(`remote option ${e[0]}: value must be a string, boolean or string list`);
  }
  return entries;
}

/** Fills a remote's group: url (or metalink) first, then the options in order. */
function fillGroup(kf: KeyFile, group: string, url: string | null, entries: Array<[string, RemoteOptionValue]>): void {
  if (url !== null) {
    if (url.startsWith('metalink=')) kf.set(group, 'metalink', url.slice('metalink='.length));
    else kf.set(group, 'url', url);
  }
  for (const [key, v] of entries) {
    if (typeof v === 'string') kf.set(group, key, v);
    else if (typeof v === 'boolean') kf.setBoolean(group, key, v);
    else kf.setStringList(group, key, v);
  }
}

/**
 * The check ostree_repo_write_config makes before writing `newConfig`: a remote group in it must
 * not name a remote that a remotes.d file defines. Call before Repo.writeConfig for user edits.
 */
export async function checkConfigRemotes(repo: Repo, newConfig: KeyFile): Promise<void> {
  const current = await loadOwnRemotes(repo);
  for (const group of newConfig.groups()) {
    const m = REMOTE_GROUP.exec(group);
    const cur = m ? current.get(m[1]!) : undefined;
    if (cur && cur.file !== null) throw new XylemError(`Remote "${cur.name}" already defined in ${cur.file}`, 'EEXIST');
  }
}

/** A writable copy of the repo config as libostree holds it (loaded without comments). */
function configCopy(repo: Repo): KeyFile {
  return KeyFile.parse(repo.config.toString(), joinPath(repo.path, 'config'), { keepComments: false });
}

async function writeRemoteFile(repo: Repo, remote: Remote): Promise<void> {
  await writeFileAtomic(repo.fs, remote.file!, textEncoder.encode(remote.options.toString()), { mode: 0o644 });
}

/**
 * ostree remote add (ostree_repo_remote_change ADD / ADD_IF_NOT_EXISTS / REPLACE). `url` may be
 * null only for custom-backend remotes; `metalink=URL` is stored as the metalink option.
 * Returns false when ifNotExists found an existing remote and nothing was written.
 */
export async function addRemote(repo: Repo, name: string, url: string | null, opts: AddRemoteOptions = {}): Promise<boolean> {
  if (!(repo instanceof Repo)) throw new TypeError('addRemote: repo must be a Repo');
  if (url !== null && typeof url !== 'string') throw new TypeError('addRemote: url must be a string or null');
  if (opts.ifNotExists && opts.force) throw new XylemError('Can only specify one of --if-not-exists and --force');
  const entries: Array<[string, RemoteOptionValue]> = [];
  if (opts.branches !== undefined && opts.branches.length > 0) entries.push(['branches', [...opts.branches]]);
  entries.push(...optionEntries(opts.options));
  if (opts.collectionId !== undefined) entries.push(['collection-id', opts.collectionId]);
  validateRemoteName(name);

  const existing = (await loadOwnRemotes(repo)).get(name);
  if (existing && opts.force) {
    existing.options.removeGroup(existing.group);
    fillGroup(existing.options, existing.group, url, entries);
    if (existing.file !== null) await writeRemoteFile(repo, existing);
    else {
      const config = configCopy(repo);
      config.removeGroup(existing.group);
      copyGroup(existing.options, config, existing.group);
      await repo.writeConfig(config);
    }
    return true;
  }
  if (existing) {
    if (opts.ifNotExists) return false;
    throw new XylemError(`Remote configuration for "${name}" already exists: ${existing.file ?? '(in config)'}`);
  }

  const { dir, isSystem } = await resolveScope(repo);
  const addToDir = repo.config.getBoolean('core', 'add-remotes-config-dir') ?? isSystem;
  const remote = newRemote(name, dir !== null && addToDir ? joinPath(dir, `${name}.conf`) : null);
  fillGroup(remote.options, remote.group, url, entries);
  if (remote.file !== null) {
    await repo.fs.mkdir(dir!, { recursive: true });
    await writeRemoteFile(repo, remote);
  } else {
    const config = configCopy(repo);
    copyGroup(remote.options, config, remote.group);
    await repo.writeConfig(config);
  }
  return true;
}

/**
 * ostree remote delete: removes the remote's group (or its remotes.d file) and its keyring.
 * Returns false when ifExists found nothing to delete.
 */
export async function deleteRemote(repo: Repo, name: string, opts: { ifExists?: boolean } = {}): Promise<boolean> {
  if (!(repo instanceof Repo)) throw new TypeError('deleteRemote: repo must be a Repo');
  validateRemoteName(name);
  const remote = (await loadOwnRemotes(repo)).get(name);
  if (!remote) {
    if (opts.ifExists) return false;
    throw new NotFoundError(`Remote "${name}" not found`);
  }
  if (remote.file !== null) {
    try {
      await repo.fs.unlink(remote.file);
    } catch (e) {
      throw new XylemError(`unlinkat(${remote.file}): ${(e as Error).message}`);
    }
  } else {
    const config = configCopy(repo);
    if (config.removeGroup(remote.group)) await repo.writeConfig(config);
  }
  try {
    await repo.fs.unlink(joinPath(repo.path, remote.keyring));
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  return true;
}

// ---- Fetching from a remote -------------------------------------------------------------------

/** Fetches files of a remote repository. Pluggable per URL scheme (file:// is built in). */
export interface RemoteFetcher {
  /** The bytes at `url`, or null when it does not exist (ENOENT, HTTP 404). `probe`: a quick check, no retries. */
  fetch(url: string, opts?: { maxBytes?: number; probe?: boolean }): Promise<Uint8Array | null>;
}

export type RemoteFetcherFactory = (repo: Repo, remoteName: string) => RemoteFetcher;

const fetcherFactories = new Map<string, RemoteFetcherFactory>();

/** Registers the fetcher for a URL scheme ('http', 'https', …); replaces an earlier one. */
export function registerRemoteFetcher(scheme: string, factory: RemoteFetcherFactory): void {
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new TypeError(`registerRemoteFetcher: invalid scheme ${scheme}`);
  fetcherFactories.set(scheme, factory);
}

/** Local path of a file:// URL. */
export function fileUrlToPath(url: string): string {
  const m = /^file:\/\/([^/]*)(\/.*)?$/.exec(url);
  if (!m || (m[1] !== '' && m[1] !== 'localhost')) throw new XylemError(`Invalid file URL ${url}`);
  try {
    return decodeURIComponent(m[2] ?? '/');
  } catch {
    throw new XylemError(`Invalid file URL ${url}`);
  }
}

/** Reads file:// URLs straight from the host filesystem. */
export function fileFetcher(fs: FsHost): RemoteFetcher {
  return {
    async fetch(url, opts) {
      const path = fileUrlToPath(url);
      const st = await fs.stat(path);
      if (!st) return null;
      if (st.kind !== 'file') throw new XylemError(`${path}: not a regular file`);
      const cap = opts?.maxBytes;
      if (cap !== undefined && st.size > cap) throw new XylemError(`${url}: larger than ${cap} bytes`);
      try {
        return await fs.readFile(path);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return null;
        throw e;
      }
    },
  };
}

registerRemoteFetcher('file', (repo) => fileFetcher(repo.fs));

/**
 * Fetches http(s):// URLs with a web-standard fetch: 404/410 mean "not there" (null), any other
 * non-2xx status is an error naming the URL; bodies over `maxBytes` are refused while reading.
 */
export function httpFetcher(fetchFn: typeof fetch): RemoteFetcher {
  if (typeof fetchFn !== 'function') throw new TypeError('httpFetcher: a fetch function is required');
  return {
    async fetch(url, opts) {
      const cap = opts?.maxBytes ?? MAX_SUMMARY_SIZE;
      let res: Response;
      try {
        res = await fetchFn(url, { redirect: 'follow' });
      } catch (e) {
        throw new XylemError(`While fetching ${url}: ${(e as Error).message}`);
      }
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel().catch(() => undefined);
        return null;
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new XylemError(`While fetching ${url}: Server returned HTTP ${res.status}`);
      }
      return readBodyCapped(res, cap, () => new XylemError(`While fetching ${url}: larger than ${cap} bytes`));
    },
  };
}

function hostHttpFetcher(repo: Repo): RemoteFetcher {
  if (!repo.host.fetch) throw new XylemError('Fetching over HTTP is not available on this host');
  return httpFetcher(repo.host.fetch);
}
registerRemoteFetcher('http', hostHttpFetcher);
registerRemoteFetcher('https', hostHttpFetcher);

/** The fetcher for a URL, chosen by its scheme. */
export function fetcherFor(repo: Repo, remoteName: string, url: string): RemoteFetcher {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  const factory = m ? fetcherFactories.get(m[1]!.toLowerCase()) : undefined;
  if (!factory) throw new XylemError(`Fetching ${url}: URL scheme not supported yet`);
  return factory(repo, remoteName);
}

/** A remote's summary and its signatures (either null when the server has none). */
export interface RemoteSummary {
  summary: Uint8Array | null;
  signatures: Uint8Array | null;
}

/**
 * Checks a fetched summary against the remote's signature policy; throws to refuse it. The
 * signing module provides one (src/remote/summary.ts).
 */
export type RemoteSummaryVerifier = (remote: string, summary: Uint8Array | null, signatures: Uint8Array | null) => Promise<void>;

/**
 * Fetches `summary` and `summary.sig` of a remote (by name, or a file:// URL) and hands them to
 * `verify`. Without a verifier, a remote that wants its summary verified (gpg-verify-summary or
 * sign-verify-summary) is refused rather than read unchecked.
 */
export async function fetchRemoteSummary(
  repo: Repo,
  name: string,
  fetcher?: RemoteFetcher,
  verify?: RemoteSummaryVerifier,
): Promise<RemoteSummary> {
  // Mirrorlists and metalinks may mix schemes (a file:// list of http mirrors): pick per URL.
  const f: RemoteFetcher = fetcher ?? { fetch: (u, o) => fetcherFor(repo, name, u).fetch(u, o) };
  const metalink = remoteNameIsFile(name) ? null : await remoteOption(repo, name, 'metalink', null);
  let summary: Uint8Array | null;
  let signatures: Uint8Array | null;
  if (metalink !== null) {
    // As libostree: both files come through the metalink; one it does not list is absent.
    signatures = await fetchMetalinkTarget(f, metalink, 'summary.sig', MAX_SUMMARY_SIZE).then(
      (t) => t.bytes,
      (e) => {
        if (e instanceof NotFoundError) return null;
        throw e;
      },
    );
    summary = (await fetchMetalinkTarget(f, metalink, 'summary', MAX_SUMMARY_SIZE)).bytes;
  } else {
    const bases = await resolveUrlValue(f, await getRemoteUrl(repo, name));
    if (!fetcher) for (const b of bases) fetcherFor(repo, name, b); // refuses an unsupported scheme up front
    summary = await fetchFromMirrors(f, bases, 'summary', { maxBytes: MAX_SUMMARY_SIZE });
    signatures = await fetchFromMirrors(f, bases, 'summary.sig', { maxBytes: MAX_SUMMARY_SIZE });
  }
  if (verify) await verify(name, summary, signatures);
  else if (!remoteNameIsFile(name)) {
    const signVerify = await remoteOption(repo, name, 'sign-verify-summary', null);
    if ((await remoteGpgVerifySummary(repo, name)) || (signVerify !== null && signVerify !== 'false' && signVerify !== '0' && signVerify !== ''))
      throw new XylemError(`Summary verification is enabled for remote "${name}", but no verifier was given`);
  }
  return { summary, signatures };
}

/** The ref → checksum map of a summary (type (a(s(taya{sv}))a{sv})). */
export function summaryRefs(summary: Uint8Array): Map<string, string> {
  const v = decode('(a(s(taya{sv}))a{sv})', summary, { context: 'summary' }) as GVValue[];
  const refs = new Map<string, string>();
  for (const entry of v[0] as GVValue[]) {
    const [ref, info] = entry as [string, GVValue[]];
    const csum = info[1] as Uint8Array;
    if (csum.length !== 32) throw new XylemError(`Invalid checksum of length ${csum.length} expected 32`);
    refs.set(ref, toHex(csum));
  }
  return refs;
}

/** ostree_repo_remote_list_refs: the refs a remote's summary advertises, sorted by name. */
export async function listRemoteSummaryRefs(
  repo: Repo,
  name: string,
  fetcher?: RemoteFetcher,
  verify?: RemoteSummaryVerifier,
): Promise<Map<string, string>> {
  const { summary } = await fetchRemoteSummary(repo, name, fetcher, verify);
  if (summary === null) throw new XylemError('Remote refs not available; server has no summary file');
  const refs = summaryRefs(summary);
  return new Map([...refs].sort((a, b) => compareBytes(a[0], b[0])));
}

// ---- Cookie jars (`remote add-cookie / delete-cookie / list-cookies`) ----------------------------

/** One line of a remote's cookie jar (REMOTE.cookies.txt, Netscape/libcurl format). */
export interface RemoteCookie {
  domain: string;
  /** "TRUE" when the domain (with a leading dot) also covers subdomains. */
  flag: string;
  path: string;
  secure: string;
  /** Expiry, seconds since the epoch. */
  expiration: bigint;
  name: string;
  value: string;
}

const MAX_COOKIE_JAR_SIZE = 1024 * 1024;

function cookieJarPath(repo: Repo, remote: string): string {
  validateRemoteName(remote);
  return joinPath(repo.path, `${remote}.cookies.txt`);
}

/** Parses jar text as ostree does: tab-separated fields, 7 per line; other lines are skipped. */
function parseCookieJar(text: string): Array<{ line: string; cookie: RemoteCookie }> {
  const out: Array<{ line: string; cookie: RemoteCookie }> = [];
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f.length < 7 || f.slice(0, 7).some((x) => x === '' || /\s/.test(x)) || !/^\d+$/.test(f[4]!)) continue;
    out.push({ line, cookie: { domain: f[0]!, flag: f[1]!, path: f[2]!, secure: f[3]!, expiration: BigInt(f[4]!), name: f[5]!, value: f[6]! } });
  }
  return out;
}

async function readCookieJar(repo: Repo, remote: string): Promise<string> {
  const p = cookieJarPath(repo, remote);
  try {
    return await readTextCapped(repo.fs, p, MAX_COOKIE_JAR_SIZE);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return '';
    throw e;
  }
}

function checkCookieField(what: string, v: string): void {
  if (typeof v !== 'string' || v === '' || /[\s]/.test(v)) throw new XylemError(`Invalid cookie ${what} '${v}'`);
}

/** ot_add_cookie_at: appends a cookie (expiring in 25 years) to REMOTE.cookies.txt. */
export async function addRemoteCookie(repo: Repo, remote: string, domain: string, path: string, name: string, value: string): Promise<void> {
  checkCookieField('domain', domain);
  checkCookieField('path', path);
  checkCookieField('name', name);
  checkCookieField('value', value);
  const now = new Date(repo.host.now?.() ?? Date.now());
  const expires = new Date(now);
  expires.setUTCFullYear(expires.getUTCFullYear() + 25);
  const line = `${domain}\t${domain.startsWith('.') ? 'TRUE' : 'FALSE'}\t${path}\tFALSE\t${Math.floor(expires.getTime() / 1000)}\t${name}\t${value}\n`;
  const old = await readCookieJar(repo, remote);
  await writeFileAtomic(repo.fs, cookieJarPath(repo, remote), textEncoder.encode(old + (old && !old.endsWith('\n') ? '\n' : '') + line), { mode: 0o644, fsync: repo.fsyncEnabled });
}

/**
 * ot_delete_cookie_at: rewrites the jar without the cookies matching domain, path and name.
 * Returns whether one was found (`remote delete-cookie` then fails with "Cookie not found in jar").
 */
export async function deleteRemoteCookie(repo: Repo, remote: string, domain: string, path: string, name: string): Promise<boolean> {
  let found = false;
  let out = '';
  for (const { line, cookie } of parseCookieJar(await readCookieJar(repo, remote))) {
    if (cookie.domain === domain && cookie.path === path && cookie.name === name) {
      found = true;
      continue;
    }
    out += `${line}\n`;
  }
  await writeFileAtomic(repo.fs, cookieJarPath(repo, remote), textEncoder.encode(out), { mode: 0o644, fsync: repo.fsyncEnabled });
  return found;
}

/** The cookies of a remote's jar, in file order. */
export async function listRemoteCookies(repo: Repo, remote: string): Promise<RemoteCookie[]> {
  return parseCookieJar(await readCookieJar(repo, remote)).map((e) => e.cookie);
}

/** `remote list-cookies` text, as ot_list_cookies_at prints it. */
export function formatRemoteCookies(cookies: RemoteCookie[]): string {
  let out = '';
  for (const c of cookies) {
    out += `--\nDomain: ${c.domain}\nPath: ${c.path}\nName: ${c.name}\nSecure: ${c.secure}\n`;
    if (c.expiration <= 253402300799n) {
      const d = new Date(Number(c.expiration) * 1000);
      const p = (n: number) => String(n).padStart(2, '0');
      out += `Expires: ${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000\n`;
    }
    out += `Value: ${c.value}\n`;
  }
  return out;
}

/**
 * The Cookie header value a fetch of `url` sends from the remote's jar (as libcurl picks them:
 * host equal to the domain, or under it for a leading-dot domain; path prefix; secure cookies
 * only over https; unexpired), or null when none applies.
 */
export async function remoteCookieHeader(repo: Repo, remote: string, url: string): Promise<string | null> {
  if (remoteNameIsFile(remote) || !isValidRemoteName(remote)) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname.toLowerCase();
  const now = BigInt(Math.floor((repo.host.now?.() ?? Date.now()) / 1000));
  const picked: string[] = [];
  for (const c of await listRemoteCookies(repo, remote)) {
    const d = c.domain.toLowerCase().replace(/^#httponly_/, '');
    const domainOk = d.startsWith('.') ? host === d.slice(1) || host.endsWith(d) : host === d;
    if (!domainOk) continue;
    if (!(u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))) continue;
    if (c.secure === 'TRUE' && u.protocol !== 'https:') continue;
    if (c.expiration !== 0n && c.expiration < now) continue;
    picked.push(`${c.name}=${c.value}`);
  }
  return picked.length ? picked.join('; ') : null;
}
