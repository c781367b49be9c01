// Tree comparison (`ostree diff`): commit ↔ commit through the WASM sorted-table diff, walking
// only into subtrees whose dirtree checksums differ; commit ↔ directory (either side) by
// checksumming the directory's files and folders the way a commit would. The result lists keep
// libostree's order: modified, removed and added entries in the order its walk finds them.

import type { Repo } from './repo.ts';
import { readXattrs } from './repo.ts';
import { ObjectType, fileStreamHeader, encodeDirMeta, type FileHeader, type Xattr } from '../format/objects.ts';
import { decode, type GVValue } from '../format/gvariant.ts';
import { toHex } from '../util/bytes.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import type { Core, TreeEntry } from '../../core-wasm/index.ts';

/** One side of a diff: a commit's tree in the repo, or a directory on the filesystem. */
export type DiffSide = { kind: 'commit'; checksum: string } | { kind: 'dir'; path: string };

/** A changed path: relative to the side it belongs to, without a leading '/'. */
export interface DiffItem {
  path: string;
  /** Which side's path is meant: 'a' (source) for modified/removed, 'b' (target) for added. */
  side: 'a' | 'b';
}

export interface DiffResult {
  modified: DiffItem[];
  removed: DiffItem[];
  added: DiffItem[];
}

export interface DiffOptions {
  /** Do not read extended attributes of local files. */
  noXattrs?: boolean;
  /** Ownership to assume for local files (ostree diff --owner-uid/--owner-gid). */
  ownerUid?: number;
  ownerGid?: number;
  /** The WASM core for the sorted-table diff; commit↔commit falls back to a JS merge without it. */
  core?: Core;
}

// ---------------------------------------------------------------------------------------------
// commit ↔ commit

interface RawTree {
  files: TreeEntry[];
  dirs: TreeEntry[];
}

async function loadRawTree(repo: Repo, checksum: string): Promise<RawTree> {
  const data = await repo.loadMetadataBytes(ObjectType.DirTree, checksum);
  const [files, dirs] = decode('(a(say)a(sayay))', data, { context: `${checksum}.dirtree` }) as [GVValue[], GVValue[]];
  const out: RawTree = { files: [], dirs: [] };
  for (const f of files) {
    const [name, c] = f as [string, Uint8Array];
    if (c.length !== 32) throw new XylemError(`${checksum}.dirtree: Invalid checksum of length ${c.length} expected 32`);
    out.files.push({ name, checksum: c });
  }
  for (const d of dirs) {
    const [name, t, m] = d as [string, Uint8Array, Uint8Array];
    if (t.length !== 32 || m.length !== 32) throw new XylemError(`${checksum}.dirtree: Invalid checksum length for ${name}`);
    const both = new Uint8Array(64);
    both.set(t, 0);
    both.set(m, 32);
    out.dirs.push({ name, checksum: both });
  }
  return out;
}

type Kind = 'added' | 'removed' | 'modified';
interface TableDiff {
  kind: Kind;
  name: string;
  a: number;
  b: number;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The same answer as the WASM kernel, for hosts without it: a merge of two strcmp-sorted tables. */
function jsTableDiff(a: readonly TreeEntry[], b: readonly TreeEntry[]): TableDiff[] {
  const enc = new TextEncoder();
  const cmp = (x: string, y: string): number => {
    if (x === y) return 0;
    const bx = enc.encode(x);
    const by = enc.encode(y);
    const n = Math.min(bx.length, by.length);
    for (let i = 0; i < n; i++) if (bx[i] !== by[i]) return bx[i]! - by[i]!;
    return bx.length - by.length;
  };
  const out: TableDiff[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : cmp(a[i]!.name, b[j]!.name);
    if (c < 0) out.push({ kind: 'removed', name: a[i]!.name, a: i++, b: -1 });
    else if (c > 0) out.push({ kind: 'added', name: b[j]!.name, a: -1, b: j++ });
    else {
      if (!sameBytes(a[i]!.checksum, b[j]!.checksum)) out.push({ kind: 'modified', name: a[i]!.name, a: i, b: j });
      i++;
      j++;
    }
  }
  return out;
}

class CommitDiffer {
  constructor(
    private readonly repo: Repo,
    private readonly core: Core | undefined,
    private readonly result: DiffResult,
  ) {}

  private tableDiff(a: readonly TreeEntry[], b: readonly TreeEntry[]): TableDiff[] {
    if (a.length === 0 && b.length === 0) return [];
    return this.core ? this.core.treeDiff(a, b) : jsTableDiff(a, b);
  }

  async diffTrees(ta: string, tb: string, prefix: string): Promise<void> {
    if (ta === tb) return;
    const [A, B] = await Promise.all([loadRawTree(this.repo, ta), loadRawTree(this.repo, tb)]);
    const fd = this.tableDiff(A.files, B.files);
    const dd = this.tableDiff(A.dirs, B.dirs);
    const names = (t: TreeEntry[]): Set<string> => new Set(t.map((e) => e.name));
    let bDirs: Set<string> | null = null;
    let bFiles: Set<string> | null = null;
    let aDirs: Set<string> | null = null;
    let aFiles: Set<string> | null = null;
    const r = this.result;
    const path = (n: string): string => (prefix ? `${prefix}/${n}` : n);
    // Walk of the source's entries: its files, then its folders.
    for (const e of fd) {
      if (e.kind === 'modified') r.modified.push({ path: path(e.name), side: 'a' });
      else if (e.kind === 'removed') {
        bDirs ??= names(B.dirs);
        if (bDirs.has(e.name)) r.modified.push({ path: path(e.name), side: 'a' });
        else r.removed.push({ path: path(e.name), side: 'a' });
      }
    }
    for (const e of dd) {
      if (e.kind === 'modified') {
        const ca = A.dirs[e.a]!.checksum;
        const cb = B.dirs[e.b]!.checksum;
        if (!sameBytes(ca.subarray(32), cb.subarray(32))) r.modified.push({ path: path(e.name), side: 'a' });
        const sa = toHex(ca.subarray(0, 32));
        const sb = toHex(cb.subarray(0, 32));
        if (sa !== sb) await this.diffTrees(sa, sb, path(e.name));
      } else if (e.kind === 'removed') {
        bFiles ??= names(B.files);
        if (bFiles.has(e.name)) r.modified.push({ path: path(e.name), side: 'a' });
        else r.removed.push({ path: path(e.name), side: 'a' });
      }
    }
    // Then the target's entries the source lacks.
    for (const e of fd) {
      if (e.kind !== 'added') continue;
      aDirs ??= names(A.dirs);
      if (!aDirs.has(e.name)) r.added.push({ path: path(e.name), side: 'b' });
    }
    for (const e of dd) {
      if (e.kind !== 'added') continue;
      aFiles ??= names(A.files);
      if (aFiles.has(e.name)) continue;
      r.added.push({ path: path(e.name), side: 'b' });
      await this.addAll(toHex(B.dirs[e.b]!.checksum.subarray(0, 32)), path(e.name));
    }
  }

  async addAll(tree: string, prefix: string): Promise<void> {
    const t = await loadRawTree(this.repo, tree);
    for (const f of t.files) this.result.added.push({ path: `${prefix}/${f.name}`, side: 'b' });
    for (const d of t.dirs) {
      this.result.added.push({ path: `${prefix}/${d.name}`, side: 'b' });
      await this.addAll(toHex(d.checksum.subarray(0, 32)), `${prefix}/${d.name}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// generic walk (at least one side is a directory on disk)

interface Entry {
  name: string;
  isDir: boolean;
  /** Content checksum (files, symlinks) or dirmeta checksum (folders). */
  checksum(): Promise<string>;
  open(): Promise<Node>;
}

interface Node {
  /** Entries in enumeration order (repo: files then folders by name; disk: readdir order). */
  list(): Promise<Entry[]>;
  lookup(name: string): Promise<Entry | null>;
}

function repoNode(repo: Repo, tree: string): Node {
  let cached: Promise<RawTree> | null = null;
  const load = (): Promise<RawTree> => (cached ??= loadRawTree(repo, tree));
  const fileEntry = (e: TreeEntry): Entry => ({
    name: e.name,
    isDir: false,
    checksum: async () => toHex(e.checksum),
    open: async () => {
      throw new XylemError(`${e.name} is not a directory`);
    },
  });
  const dirEntry = (e: TreeEntry): Entry => ({
    name: e.name,
    isDir: true,
    checksum: async () => toHex(e.checksum.subarray(32)),
    open: async () => repoNode(repo, toHex(e.checksum.subarray(0, 32))),
  });
  return {
    async list() {
      const t = await load();
      return [...t.files.map(fileEntry), ...t.dirs.map(dirEntry)];
    },
    async lookup(name) {
      const t = await load();
      const f = t.files.find((e) => e.name === name);
      if (f) return fileEntry(f);
      const d = t.dirs.find((e) => e.name === name);
      return d ? dirEntry(d) : null;
    },
  };
}

interface LocalContext {
  repo: Repo;
  xattrs: boolean;
  ownerUid?: number;
  ownerGid?: number;
}

async function localXattrs(ctx: LocalContext, path: string): Promise<Xattr[]> {
  if (!ctx.xattrs) return [];
  return (await readXattrs(ctx.repo.fs, path)).filter((x) => x.name !== 'user.ostreemeta');
}

async function localFileChecksum(ctx: LocalContext, path: string): Promise<string> {
  const fs = ctx.repo.fs;
  const st = await fs.lstat(path);
  if (!st) throw new XylemError(`${path}: No such file or directory`);
  const uid = ctx.ownerUid ?? st.uid;
  const gid = ctx.ownerGid ?? st.gid;
  const xattrs = await localXattrs(ctx, path);
  if (st.kind === 'dir') return toHex(ctx.repo.sha256(encodeDirMeta({ uid, gid, mode: st.mode, xattrs })));
  if (st.kind === 'symlink') {
    const header: FileHeader = { uid, gid, mode: st.mode, rdev: 0, symlinkTarget: await fs.readlink(path), xattrs };
    return toHex(ctx.repo.sha256(fileStreamHeader(header)));
  }
  if (st.kind !== 'file') throw new XylemError(`${path}: Unsupported file type`);
  const header: FileHeader = { uid, gid, mode: st.mode, rdev: 0, symlinkTarget: '', xattrs };
  const h = ctx.repo.createSha256();
  h.update(fileStreamHeader(header));
  h.update(await fs.readFile(path));
  return toHex(h.digest());
}

function localNode(ctx: LocalContext, dir: string): Node {
  const entry = (name: string, isDir: boolean): Entry => {
    const p = joinPath(dir, name);
    return { name, isDir, checksum: () => localFileChecksum(ctx, p), open: async () => localNode(ctx, p) };
  };
  return {
    async list() {
      return (await ctx.repo.fs.readdir(dir)).map((e) => entry(e.name, e.kind === 'dir'));
    },
    async lookup(name) {
      const st = await ctx.repo.fs.lstat(joinPath(dir, name));
      return st ? entry(name, st.kind === 'dir') : null;
    },
  };
}

async function addAllGeneric(node: Node, prefix: string, added: DiffItem[]): Promise<void> {
  for (const e of await node.list()) {
    const p = prefix ? `${prefix}/${e.name}` : e.name;
    added.push({ path: p, side: 'b' });
    if (e.isDir) await addAllGeneric(await e.open(), p, added);
  }
}

async function diffGeneric(a: Node, b: Node, prefix: string, r: DiffResult): Promise<void> {
  const path = (n: string): string => (prefix ? `${prefix}/${n}` : n);
  for (const ea of await a.list()) {
    const eb = await b.lookup(ea.name);
    if (!eb) {
      r.removed.push({ path: path(ea.name), side: 'a' });
      continue;
    }
    if (ea.isDir !== eb.isDir) {
      r.modified.push({ path: path(ea.name), side: 'a' });
      continue;
    }
    const [ca, cb] = await Promise.all([ea.checksum(), eb.checksum()]);
    if (ca !== cb) r.modified.push({ path: path(ea.name), side: 'a' });
    if (ea.isDir) await diffGeneric(await ea.open(), await eb.open(), path(ea.name), r);
  }
  for (const eb of await b.list()) {
    if (await a.lookup(eb.name)) continue;
    r.added.push({ path: path(eb.name), side: 'b' });
    if (eb.isDir) await addAllGeneric(await eb.open(), path(eb.name), r.added);
  }
}

// ---------------------------------------------------------------------------------------------

/** Compares two trees; each side is a commit (by checksum) or a directory on disk. */
export async function diffTrees(repo: Repo, a: DiffSide, b: DiffSide, opts: DiffOptions = {}): Promise<DiffResult> {
  const result: DiffResult = { modified: [], removed: [], added: [] };
  if (a.kind === 'commit' && b.kind === 'commit') {
    const [ca, cb] = await Promise.all([repo.loadCommit(a.checksum), repo.loadCommit(b.checksum)]);
    await new CommitDiffer(repo, opts.core, result).diffTrees(ca.rootTree, cb.rootTree, '');
    return result;
  }
  const xattrsDisabled =
    opts.noXattrs === true || repo.mode === 'bare-user-only' || repo.config.getBoolean('core', 'disable-xattrs') === true || !repo.fs.xattrs;
  // As in ostree, the ownership override applies to the target side only.
  const ctxA: LocalContext = { repo, xattrs: !xattrsDisabled };
  const ctxB: LocalContext = { repo, xattrs: !xattrsDisabled, ownerUid: opts.ownerUid, ownerGid: opts.ownerGid };
  const node = async (s: DiffSide, ctx: LocalContext): Promise<Node> => {
    if (s.kind === 'dir') {
      const st = await repo.fs.stat(s.path);
      if (!st) throw new XylemError(`${s.path}: No such file or directory`);
      return localNode(ctx, s.path);
    }
    return repoNode(repo, (await repo.loadCommit(s.checksum)).rootTree);
  };
  await diffGeneric(await node(a, ctxA), await node(b, ctxB), '', result);
  return result;
}

/** ostree_diff_print: "M    path" lines; repo paths start with '/', directory paths are relative. */
export function formatDiff(result: DiffResult, a: DiffSide, b: DiffSide): string {
  const show = (prefix: string, item: DiffItem): string => {
    const side = item.side === 'a' ? a : b;
    return `${prefix}    ${side.kind === 'commit' ? '/' : ''}${item.path}\n`;
  };
  return [
    ...result.modified.map((i) => show('M', i)),
    ...result.removed.map((i) => show('D', i)),
    ...result.added.map((i) => show('A', i)),
  ].join('');
}
