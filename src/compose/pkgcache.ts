// The package cache: each RPM imported once into an ostree repo as a commit of its own under
// `rpmostree/pkg/<name>/<evr>.<arch>` (escape.ts), with rpm-ostree's path translation
// (translate.ts), a per-package tmpfiles.d snippet for /var and /run entries, and the package
// commit metadata rpm-ostree writes (rpmostree.metadata, metadata_sha256, nevra, unpack_version…;
// reference note rpm-packages.md §7.2, rust/src/importer.rs upstream). Files are stored root-owned
// with the header's mode (directories get u+w) and file capabilities as `security.capability`;
// non-root owners are applied at assembly, once the tree's passwd/group exist (as upstream's
// apply_rpmfi_overrides). Regular files are streamed: small ones are hashed in memory, big ones
// spooled to the repo's tmp/ first.

import { ObjectType, encodeDirMeta, type FileHeader, type Xattr } from '../format/objects.ts';
import { decode, encode, type GVValue, type GVVariant } from '../format/gvariant.ts';
import { MutableTree } from '../repo/mutable-tree.ts';
import { writeCommit } from '../repo/commit.ts';
import { resolveRev } from '../repo/refs.ts';
import type { Repo } from '../repo/repo.ts';
import { Transaction, type SharedStaging } from '../repo/transaction.ts';
import { randomSuffix } from '../util/atomic-write.ts';
import { toHex } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { pkgcacheRef } from './escape.ts';
import { encodeFileCaps } from './fcaps.ts';
import type { ComposeEntry, ComposePackage } from './package.ts';
import { translatePath } from './translate.ts';

export const UNPACK_VERSION = 1;
export const UNPACK_MINOR_VERSION = 6;
/** Files up to this size are hashed in memory; bigger ones are spooled to disk. */
const IN_MEMORY = 1 << 20;
/** Most tmpfiles lines one package may produce. */
const MAX_TMPFILES_LINES = 100_000;

export interface ImportOptions {
  /** The rpm-md repo the package came from: `rpmostree.repo` {id, timestamp}. */
  repo?: { id: string; timestamp: bigint };
  /** The package's checksum in that repo (`sha256:hex`): `rpmostree.repodata_checksum`. */
  repodataChecksum?: string;
  /** false: leave out %doc files (`rpmostree.nodocs`). */
  documentation?: boolean;
  /** Import again even when the ref exists. */
  force?: boolean;
  /**
   * Write the objects without syncing and leave the ref alone: the caller publishes the refs of a
   * batch of imports with publishPackageRefs (one syncfs for the batch instead of three per package).
   */
  deferRef?: boolean;
  /**
   * One staging folder for a batch of imports (sharedStaging): its XX/ subfolders are made once,
   * not once per package; the caller removes it after the batch.
   */
  staging?: SharedStaging;
}

export interface ImportResult {
  ref: string;
  checksum: string;
  /** false when the ref already existed and nothing was written. */
  imported: boolean;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

async function dirAt(root: MutableTree, rel: string, metaFor: (path: string) => Promise<string>): Promise<MutableTree> {
  let t = root;
  let path = '';
  for (const c of rel.split('/').filter((x) => x !== '')) {
    path = path ? `${path}/${c}` : c;
    const existing = t.dirs.get(c);
    if (existing) t = existing;
    else {
      if (t.files.has(c)) throw new XylemError(`${path}: a file where a directory is expected`, 'EEXIST');
      const d = await t.ensureDir(c);
      d.metaChecksum = await metaFor(path);
      t = d;
    }
  }
  return t;
}

function splitPath(rel: string): [string, string] {
  const i = rel.lastIndexOf('/');
  return i < 0 ? ['', rel] : [rel.slice(0, i), rel.slice(i + 1)];
}

/** The metadata of a package commit, keys sorted. */
export function packageCommitMetadata(pkg: ComposePackage, sha256Hex: string, opts: ImportOptions): Array<[string, GVVariant]> {
  const n = pkg.nevra;
  const nevraStr = `${n.name}-${n.epoch ? `${n.epoch}:` : ''}${n.version}-${n.release}.${n.arch}`;
  const md: Array<[string, GVVariant]> = [
    ['rpmostree.metadata', { type: 'ay', value: pkg.metadataBytes }],
    ['rpmostree.metadata_sha256', { type: 's', value: sha256Hex }],
    ['rpmostree.nevra', { type: '(sstsss)', value: [nevraStr, n.name, BigInt(n.epoch ?? 0), n.version, n.release, n.arch] }],
    ['rpmostree.unpack_minor_version', { type: 'u', value: UNPACK_MINOR_VERSION }],
    ['rpmostree.unpack_version', { type: 'u', value: UNPACK_VERSION }],
  ];
  if (opts.repo)
    md.push([
      'rpmostree.repo',
      {
        type: 'a{sv}',
        value: [
          ['id', { type: 's', value: opts.repo.id }],
          ['timestamp', { type: 't', value: opts.repo.timestamp }],
        ],
      },
    ]);
  if (opts.repodataChecksum) md.push(['rpmostree.repodata_checksum', { type: 's', value: opts.repodataChecksum }]);
  if (opts.documentation === false) md.push(['rpmostree.nodocs', { type: 'b', value: true }]);
  return canonicalMetadata(md.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/**
 * Metadata with every number stored big-endian, rpm-ostree's convention for the metadata it writes
 * (and what `ostree show --print-metadata-key` assumes when it prints).
 */
export function canonicalMetadata(md: Array<[string, GVVariant]>): Array<[string, GVVariant]> {
  return decode('a{sv}', encode('a{sv}', md as GVValue, { bigEndian: true })) as Array<[string, GVVariant]>;
}

/** Writes a regular file's content object from a streamed entry. */
async function writeRegular(txn: Transaction, header: FileHeader, e: ComposeEntry, what: string): Promise<string> {
  const size = e.file.size;
  if (size <= IN_MEMORY) {
    const buf = new Uint8Array(size);
    let n = 0;
    for await (const c of e.data) {
      if (n + c.length > size) throw new XylemError(`${what}: more content than the header's ${size} bytes`, 'ECORRUPT');
      buf.set(c, n);
      n += c.length;
    }
    if (n !== size) throw new XylemError(`${what}: ${n} bytes of content, the header says ${size}`, 'ECORRUPT');
    return txn.writeContent(header, buf);
  }
  const fs = txn.repo.fs;
  const tmp = joinPath(txn.repo.path, 'tmp', `xylem-rpm-${randomSuffix()}`);
  const out = await fs.openWrite(tmp, { mode: 0o600 });
  try {
    let n = 0;
    try {
      for await (const c of e.data) {
        n += c.length;
        if (n > size) throw new XylemError(`${what}: more content than the header's ${size} bytes`, 'ECORRUPT');
        await out.write(c);
      }
    } finally {
      await out.close();
    }
    if (n !== size) throw new XylemError(`${what}: ${n} bytes of content, the header says ${size}`, 'ECORRUPT');
    return await txn.writeContentFromFile(header, tmp, size);
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
}

/**
 * Imports `pkg` into `repo` under its pkgcache ref, unless the ref exists (then returns it).
 * The package's payload is read once, in archive order.
 */
export async function importPackage(repo: Repo, pkg: ComposePackage, opts: ImportOptions = {}): Promise<ImportResult> {
  if (!pkg || typeof pkg.entries !== 'function' || !pkg.nevra) throw new TypeError('importPackage: a package (src/rpm RpmPackage) is required');
  const ref = pkgcacheRef(pkg.nevra);
  if (!opts.force) {
    const have = await resolveRev(repo, ref, true);
    if (have) return { ref, checksum: have, imported: false };
  }
  const name = pkg.nevra.name;
  const sha = repo.createSha256();
  sha.update(pkg.metadataBytes);
  const metaSha = toHex(sha.digest());
  const storeXattrs = repo.mode === 'bare' || repo.mode === 'bare-user';
  const txn = new Transaction(repo, opts.staging);
  if (opts.deferRef) txn.deferSyncfs = true;
  try {
    const metaCache = new Map<string, string>();
    const dirMeta = async (mode: number, xattrs: Xattr[] = []): Promise<string> => {
      const key = `${mode}`;
      if (xattrs.length === 0 && metaCache.has(key)) return metaCache.get(key)!;
      const c = await txn.writeMetadata(ObjectType.DirMeta, encodeDirMeta({ uid: 0, gid: 0, mode, xattrs }));
      if (xattrs.length === 0) metaCache.set(key, c);
      return c;
    };
    const defaultDir = () => dirMeta(S_IFDIR | 0o755);
    const root = new MutableTree();
    root.metaChecksum = await defaultDir();
    const tmpfiles: string[] = [];
    const seenLines = new Set<string>();
    const addLine = (l: string) => {
      if (seenLines.has(l)) return;
      if (tmpfiles.length >= MAX_TMPFILES_LINES) throw new XylemError(`${pkg.pkg}: more than ${MAX_TMPFILES_LINES} /var and /run entries`, 'E2BIG');
      seenLines.add(l);
      tmpfiles.push(l);
    };
    for await (const e of pkg.entries()) {
      const f = e.file;
      const what = `${pkg.pkg}: ${f.path}`;
      const tr = translatePath(f.path, f.mode, f.user, f.group, f.linkto, pkg.pkg);
      if (tr.kind === 'skip') continue;
      if (tr.kind === 'tmpfiles') {
        if (tr.line) addLine(tr.line);
        for (const h of e.hardlinks) {
          const t2 = translatePath(h.path, h.mode, h.user, h.group, h.linkto, pkg.pkg);
          if (t2.kind === 'tmpfiles' && t2.line) addLine(t2.line);
        }
        continue;
      }
      if (tr.tmpfiles) addLine(tr.tmpfiles);
      if (opts.documentation === false && f.doc) continue;
      const xattrs: Xattr[] = storeXattrs && f.caps ? [{ name: 'security.capability', value: encodeFileCaps(f.caps, what) }] : [];
      if (e.kind === 'dir') {
        const d = await dirAt(root, tr.path, () => defaultDir());
        d.metaChecksum = await dirMeta(S_IFDIR | (f.mode & 0o7777) | 0o200, xattrs);
        continue;
      }
      let csum: string;
      if (e.kind === 'symlink') {
        csum = await txn.writeContent({ uid: 0, gid: 0, mode: S_IFLNK | 0o777, rdev: 0, symlinkTarget: f.linkto, xattrs }, new Uint8Array(0));
      } else if (e.kind === 'file') {
        csum = await writeRegular(txn, { uid: 0, gid: 0, mode: S_IFREG | (f.mode & 0o7777), rdev: 0, symlinkTarget: '', xattrs }, e, what);
      } else throw new XylemError(`${what}: device nodes and other special files are not supported`, 'EUNSUPPORTED');
      const targets = [tr.path];
      for (const h of e.hardlinks) {
        const t2 = translatePath(h.path, h.mode, h.user, h.group, h.linkto, pkg.pkg);
        if (t2.kind === 'store' && !(opts.documentation === false && h.doc)) targets.push(t2.path);
      }
      for (const t of targets) {
        const [dir, base] = splitPath(t);
        const parent = await dirAt(root, dir, () => defaultDir());
        if (parent.dirs.has(base)) throw new XylemError(`${what}: a directory where a file is expected`, 'EEXIST');
        await parent.setFile(base, csum);
      }
    }
    if (tmpfiles.length > 0) {
      const conf = new TextEncoder().encode(tmpfiles.map((l) => `${l}\n`).join(''));
      const csum = await txn.writeContent({ uid: 0, gid: 0, mode: S_IFREG | 0o644, rdev: 0, symlinkTarget: '', xattrs: [] }, conf);
      const parent = await dirAt(root, 'usr/lib/rpm-ostree/tmpfiles.d', () => defaultDir());
      await parent.setFile(`${name}.conf`, csum);
    }
    const { checksum } = await writeCommit(txn, root, {
      parent: null,
      branch: null,
      bindRef: false,
      subject: '',
      timestamp: BigInt(Math.max(0, Math.floor(pkg.info().buildtime ?? 0))),
      metadata: packageCommitMetadata(pkg, metaSha, opts),
    });
    if (!opts.deferRef) txn.setRef(null, ref, checksum);
    await txn.commit();
    return { ref, checksum, imported: true };
  } catch (e) {
    await txn.abort().catch(() => undefined);
    throw e;
  }
}

/**
 * Moves the refs of imports made with `deferRef`: one syncfs makes all their objects durable
 * first (as a libostree transaction's commit does), then the refs are written.
 */
export async function publishPackageRefs(repo: Repo, refs: ReadonlyArray<{ ref: string; checksum: string }>): Promise<void> {
  if (!Array.isArray(refs)) throw new TypeError('publishPackageRefs: refs must be an array');
  if (refs.length === 0) return;
  if (repo.fsyncEnabled && repo.fs.syncfs) await repo.fs.syncfs(repo.path);
  const txn = new Transaction(repo);
  try {
    for (const r of refs) txn.setRef(null, r.ref, r.checksum);
    await txn.commit();
  } catch (e) {
    await txn.abort().catch(() => undefined);
    throw e;
  }
}
