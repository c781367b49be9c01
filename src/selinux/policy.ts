// Finding and loading the SELinux policy of a filesystem tree, as libostree's OstreeSePolicy does
// (ostree-sepolicy.c initable_init, 2022.7): `etc/selinux` (else `usr/etc/selinux`) of the tree,
// its `config` read for SELINUX= (labelling happens only when it starts with "enforcing" or
// "permissive", case-insensitively) and SELINUXTYPE= (the policy directory's name), then the text
// file_contexts family under `<type>/contexts/files/` loaded as selabel_open(SELABEL_CTX_FILE)
// would, and "/" must have a label. The tree is read through a TreeReader: a directory on the
// host, or a commit (ostree_sepolicy_new_from_commit: only its usr/etc/selinux). Paths resolve
// inside the tree: '..' stops at its root and symlinks are followed as if it were `/`, so nothing
// read can come from outside it.

import type { FsHost } from '../host.ts';
import type { Repo } from '../repo/repo.ts';
import { resolveRev } from '../repo/refs.ts';
import { isLnk } from '../format/objects.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { MAX_FC_FILE_BYTES, parseFileContexts, parseSubstitutions, type FileContextSpec } from './file-contexts.ts';
import { FileContexts } from './match.ts';

/** An entry of a tree as lstat sees it. */
export interface TreeEntry {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** For symlinks. */
  target?: string;
}

/** Read access to a filesystem tree by root-relative path components (nothing followed). */
export interface TreeReader {
  /** What `name` of the tree is; null when absent. */
  entry(comps: readonly string[]): Promise<TreeEntry | null>;
  /** Contents of the regular file at `comps`. */
  read(comps: readonly string[]): Promise<Uint8Array>;
  /** How the tree is named in errors. */
  readonly label: string;
}

/** Largest etc/selinux/config read. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_SYMLINKS = 40;

/** A loaded policy: its name (SELINUXTYPE) and file labelling database. */
export interface SePolicy {
  /** The policy type, e.g. "targeted". */
  readonly name: string;
  /** Where it was read, for messages: "<tree>/etc/selinux/<type>". */
  readonly root: string;
  readonly contexts: FileContexts;
}

/**
 * Resolves `path` (relative to the tree's root) to components of an existing entry, following
 * symlinks inside the tree; null when something along the way is missing.
 */
export async function resolveInTree(tree: TreeReader, path: string, followLast = true): Promise<{ comps: string[]; entry: TreeEntry } | null> {
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let hops = 0;
  let entry: TreeEntry | null = { kind: 'dir', size: 0 };
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      done.pop();
      entry = { kind: 'dir', size: 0 };
      continue;
    }
    entry = await tree.entry([...done, c]);
    if (!entry) return null;
    if (entry.kind === 'symlink' && (followLast || pending.length > 0)) {
      if (++hops > MAX_SYMLINKS) throw new XylemError(`${tree.label}/${path}: too many levels of symbolic links`, 'ELOOP');
      const t = entry.target ?? '';
      if (t.startsWith('/')) done.length = 0;
      pending = t.split('/').filter((x) => x !== '' && x !== '.').concat(pending);
      entry = { kind: 'dir', size: 0 };
      continue;
    }
    if (pending.length > 0 && entry.kind !== 'dir') return null;
    done.push(c);
  }
  if (done.length === 0) return { comps: [], entry: { kind: 'dir', size: 0 } };
  return { comps: done, entry: entry! };
}

/** Reads a regular file of the tree (symlinks resolved inside it), capped; null when absent. */
export async function readTreeFile(tree: TreeReader, path: string, maxBytes: number): Promise<Uint8Array | null> {
  const r = await resolveInTree(tree, path);
  if (!r) return null;
  if (r.entry.kind !== 'file') throw new XylemError(`${tree.label}/${path}: not a regular file`, 'EINVAL');
  if (r.entry.size > maxBytes) throw new XylemError(`${tree.label}/${path}: larger than ${maxBytes} bytes`, 'EFBIG');
  const data = await tree.read(r.comps);
  if (data.length > maxBytes) throw new XylemError(`${tree.label}/${path}: larger than ${maxBytes} bytes`, 'EFBIG');
  return data;
}

/** A TreeReader over a directory of the host's filesystem. */
export function hostTreeReader(fs: FsHost, root: string): TreeReader {
  if (!fs || typeof root !== 'string' || root === '') throw new TypeError('hostTreeReader: fs and root required');
  const at = (comps: readonly string[]) => (comps.length ? joinPath(root, comps.join('/')) : root);
  return {
    label: root,
    async entry(comps) {
      const st = await fs.lstat(at(comps));
      if (!st) return null;
      const e: TreeEntry = { kind: st.kind, size: st.size };
      if (st.kind === 'symlink') e.target = await fs.readlink(at(comps));
      return e;
    },
    read: (comps) => fs.readFile(at(comps)),
  };
}

/** A TreeReader over a commit's tree, showing only what is under `onlyUnder` (components). */
export async function commitTreeReader(repo: Repo, rev: string, onlyUnder: readonly string[] = []): Promise<TreeReader> {
  const csum = await resolveRev(repo, rev);
  if (!csum) throw new XylemError(`Refspec '${rev}' not found`, 'ENOENT');
  const commit = await repo.loadCommit(csum);
  const visible = (comps: readonly string[]) => onlyUnder.every((c, k) => k >= comps.length || comps[k] === c);
  const find = async (comps: readonly string[]): Promise<{ file?: string; dir?: string } | null> => {
    if (!visible(comps)) return null;
    let tree = commit.rootTree;
    for (let k = 0; k < comps.length; k++) {
      const dt = await repo.loadDirTree(tree);
      const d = dt.dirs.find((x) => x.name === comps[k]);
      if (d) {
        tree = d.treeChecksum;
        continue;
      }
      const f = dt.files.find((x) => x.name === comps[k]);
      if (f && k === comps.length - 1) return { file: f.checksum };
      return null;
    }
    return { dir: tree };
  };
  return {
    label: `commit ${csum}`,
    async entry(comps) {
      const r = await find(comps);
      if (!r) return null;
      if (r.dir !== undefined) return { kind: 'dir', size: 0 };
      const obj = await repo.loadFile(r.file!);
      if (isLnk(obj.header.mode)) return { kind: 'symlink', size: 0, target: obj.header.symlinkTarget };
      return { kind: 'file', size: obj.size };
    },
    async read(comps) {
      const r = await find(comps);
      if (!r?.file) throw new XylemError(`commit ${csum}: /${comps.join('/')}: not a regular file`, 'EINVAL');
      return (await repo.loadFile(r.file)).read();
    },
  };
}

/** The SELINUX= and SELINUXTYPE= settings of an etc/selinux/config, as libostree reads them. */
export function parseSelinuxConfig(data: Uint8Array, file: string): { enabled: boolean; type: string | null } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new XylemError(`${file}: invalid UTF-8`, 'EINVAL');
  }
  let enabled = false;
  let type: string | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('SELINUXTYPE=')) type = line.slice('SELINUXTYPE='.length).trim();
    else if (line.startsWith('SELINUX=')) {
      const v = line.slice('SELINUX='.length).toLowerCase();
      enabled = v.startsWith('enforcing') || v.startsWith('permissive');
    }
  }
  return { enabled, type };
}

/**
 * Loads the policy of a tree, or null when the tree has none enabled (no etc/selinux/config, or
 * SELINUX= is not enforcing/permissive): libostree then labels nothing.
 */
export async function loadPolicy(tree: TreeReader): Promise<SePolicy | null> {
  let etc = 'etc/selinux';
  const found = await resolveInTree(tree, etc);
  if (!found) etc = 'usr/etc/selinux';
  const config = await readTreeFile(tree, `${etc}/config`, MAX_CONFIG_BYTES);
  if (!config) return null;
  const { enabled, type } = parseSelinuxConfig(config, `${tree.label}/${etc}/config`);
  if (!enabled) return null;
  if (type === null || type === '' || type === '.' || type === '..' || type.includes('/') || type.includes('\0'))
    throw new XylemError(`${tree.label}/${etc}/config: invalid or missing SELINUXTYPE`, 'EINVAL');
  const dir = `${etc}/${type}/contexts/files`;
  const read = (name: string) => readTreeFile(tree, `${dir}/${name}`, MAX_FC_FILE_BYTES);
  const where = (name: string) => `${tree.label}/${dir}/${name}`;
  const base = await read('file_contexts');
  if (!base) throw new XylemError(`${where('file_contexts')}: No such file or directory (SELinux policy '${type}')`, 'ENOENT');
  const specs: FileContextSpec[] = parseFileContexts(base, where('file_contexts'));
  for (const extra of ['file_contexts.homedirs', 'file_contexts.local']) {
    const data = await read(extra);
    if (data) for (const s of parseFileContexts(data, where(extra))) specs.push(s);
  }
  const subsData = await read('file_contexts.subs');
  const distData = await read('file_contexts.subs_dist');
  const contexts = new FileContexts({
    specs,
    subs: subsData ? parseSubstitutions(subsData, where('file_contexts.subs')) : [],
    distSubs: distData ? parseSubstitutions(distData, where('file_contexts.subs_dist')) : [],
  });
  if (contexts.lookup('/', 0o755) === null)
    throw new XylemError(`With policy root '${tree.label}/${etc}/${type}': Failed to look up context of /`, 'ENOENT');
  return { name: type, root: `${tree.label}/${etc}/${type}`, contexts };
}

/** `ostree commit --selinux-policy=DIR`: the policy of the tree at `root` on the host. */
export function loadPolicyFromDirectory(fs: FsHost, root: string): Promise<SePolicy | null> {
  return loadPolicy(hostTreeReader(fs, root));
}

/**
 * The policy a commit carries (ostree_sepolicy_new_from_commit): only its usr/etc/selinux is
 * looked at; null when it has none enabled.
 */
export async function loadPolicyFromCommit(repo: Repo, rev: string): Promise<SePolicy | null> {
  return loadPolicy(await commitTreeReader(repo, rev, ['usr', 'etc', 'selinux']));
}
