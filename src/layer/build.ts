// The layered build, rpm-ostree's client-side assembly (rpmostree-core.cxx; reference note
// rpm-ostree.md §3.2–3.3): a hardlinked checkout of the base commit; the files of base packages
// removed or replaced by overrides taken out; the layered packages' cache commits checked out on
// top (hardlinks again); their %pre/%post/%posttrans run in the sandbox with the base's /etc
// (never the host's) and /var read-only — %postun never runs; the rpmdb rewritten from the
// base's with the overridden packages dropped and the new headers added; then one commit whose
// parent is the base, carrying rpm-ostree's layering metadata (rpmostree.clientlayer…).

import type { Host } from '../host.ts';
import type { GVVariant } from '../format/gvariant.ts';
import { commitRoot, type ScriptRunner } from '../compose/assemble.ts';
import type { RpmmdRepoInfo } from '../compose/compose.ts';
import { canonicalMetadata } from '../compose/pkgcache.ts';
import { moveEtc, mergePackageTmpfiles, rpmdbLinks } from '../compose/postprocess.ts';
import { translatePath } from '../compose/translate.ts';
import type { ComposeEvent } from '../compose/events.ts';
import { checkout } from '../repo/checkout.ts';
import type { Repo } from '../repo/repo.ts';
import { readRpmHeadersFromBytes, installedHeader, updateRpmdb, pkglistVariant } from '../rpmdb/index.ts';
import { formatNevra, type Nevra } from '../rpm/types.ts';
import { readNevra } from '../rpm/index.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { blobHeader, TREE_RPMDB, type BasePackage } from './base.ts';
import type { CachedLayerPackage } from './import.ts';
import type { LayerRequest } from './origin.ts';

/** rpm-ostree's `rpmostree.clientlayer_version` for the metadata written here. */
export const CLIENTLAYER_VERSION = 6;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

export interface BuildLayerInput {
  baseCommit: string;
  request: LayerRequest;
  /** Base packages (all of them) and those overrides take out. */
  base: readonly BasePackage[];
  removed: readonly BasePackage[];
  replaced: ReadonlyArray<[CachedLayerPackage, BasePackage]>;
  /** Layered packages (not replacements), in install order. */
  added: readonly CachedLayerPackage[];
  repos: readonly RpmmdRepoInfo[];
  /** A folder inside the repo's filesystem (hardlinks); must not exist; removed afterwards. */
  workdir: string;
  scripts?: ScriptRunner;
  /** Runs on the assembled root (etc back in usr/etc) before the rpmdb and commit: the client-side initramfs. */
  afterAssembly?: (root: string) => Promise<void>;
  timestamp?: bigint;
  emit?: (e: ComposeEvent) => void;
}

function nevraVariant(n: Nevra): GVVariant {
  return { type: '(sstsss)', value: [formatNevra(n), n.name, BigInt(n.epoch ?? 0), n.version, n.release, n.arch] };
}

/** Store paths (relative to the tree) of `p`'s files; directories separately. */
function storePaths(p: BasePackage): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const f of p.files) {
    let tr;
    try {
      tr = translatePath(f.path, f.mode, 'root', 'root', '', p.nevra.name);
    } catch {
      continue;
    }
    if (tr.kind !== 'store') continue;
    ((f.mode & S_IFMT) === S_IFDIR ? dirs : files).push(tr.path);
  }
  return { files, dirs };
}

/** Takes the files of `gone` out of `root`, except those a kept package also owns. */
async function removePackageFiles(host: Host, root: string, gone: readonly BasePackage[], kept: readonly BasePackage[]): Promise<void> {
  const fs = host.fs;
  const keptPaths = new Set<string>();
  for (const p of kept) {
    const s = storePaths(p);
    for (const x of s.files) keptPaths.add(x);
    for (const x of s.dirs) keptPaths.add(x);
  }
  for (const p of gone) {
    const s = storePaths(p);
    for (const f of s.files) if (!keptPaths.has(f)) await fs.rmrf(joinPath(root, f));
    // Deepest first; only directories left empty and owned by nobody else.
    for (const d of s.dirs.sort((a, b) => b.length - a.length)) {
      if (keptPaths.has(d)) continue;
      const path = joinPath(root, d);
      const st = await fs.lstat(path);
      if (st?.kind === 'dir' && (await fs.readdir(path)).length === 0) await fs.rmdir(path);
    }
  }
}

/**
 * Layered packages' tmpfiles.d snippets merged into their own file beside the base's
 * (`rpm-ostree-autovar.conf` of the base stays as it is).
 */
async function mergeLayerTmpfiles(host: Host, root: string): Promise<void> {
  const fs = host.fs;
  const dir = joinPath(root, 'usr/lib/tmpfiles.d');
  const baseConf = joinPath(dir, 'rpm-ostree-autovar.conf');
  const aside = joinPath(dir, 'rpm-ostree-autovar-base.conf');
  const had = (await fs.lstat(baseConf)) !== null;
  if (had) await fs.rename(baseConf, aside);
  try {
    if ((await mergePackageTmpfiles(fs, root)) > 0) await fs.rename(baseConf, joinPath(dir, 'rpm-ostree-layered-autovar.conf'));
  } finally {
    if (had) await fs.rename(aside, baseConf);
  }
}

/** Builds and commits the layered tree; answers the new commit (parent: the base). */
export async function buildLayeredCommit(host: Host, repo: Repo, input: BuildLayerInput): Promise<string> {
  if (!input || !/^[0-9a-f]{64}$/.test(input.baseCommit)) throw new TypeError('buildLayeredCommit: a base commit checksum is required');
  const fs = host.fs;
  const emit = input.emit ?? (() => undefined);
  const root = input.workdir;
  if (await fs.lstat(root)) throw new XylemError(`${root}: the assembly folder already exists`, 'EEXIST');
  const newPkgs = [...input.added, ...input.replaced.map(([n]) => n)];
  try {
    emit({ type: 'phase', phase: 'checkout', total: newPkgs.length + 1 });
    await checkout(repo, input.baseCommit, root, { userMode: repo.mode !== 'bare' });
    const gone = [...input.removed, ...input.replaced.map(([, o]) => o)];
    const goneSet = new Set(gone);
    if (gone.length) await removePackageFiles(host, root, gone, input.base.filter((p) => !goneSet.has(p)));
    for (const c of newPkgs) await checkout(repo, c.commit, root, { userMode: repo.mode !== 'bare', overwrite: 'union-files' });
    // Scripts see the tree's own /etc (the base's defaults plus the packages' files).
    const usrEtc = joinPath(root, 'usr/etc');
    if ((await fs.lstat(usrEtc))?.kind === 'dir' && !(await fs.lstat(joinPath(root, 'etc')))) await fs.rename(usrEtc, joinPath(root, 'etc'));
    const pkgs = newPkgs.map((c) => c.pkg);
    const withScripts = pkgs.some((p) => (p.scripts?.() ?? []).some((s) => ['pre', 'post', 'posttrans', 'prein', 'postin'].includes(s.kind)));
    if (withScripts) {
      if (!input.scripts) throw new XylemError('The layered packages have scripts, and no script sandbox is available (Host.sandbox)', 'ENOSANDBOX');
      emit({ type: 'phase', phase: 'scripts', total: pkgs.length });
      await input.scripts.runPackageScripts(root, pkgs, emit);
    }
    await moveEtc(fs, root);
    if (input.afterAssembly) await input.afterAssembly(root);
    await fs.rmrf(joinPath(root, 'var/lib/rpm-state'));
    // The rpmdb: the base's, overridden packages out, new headers in (one transaction).
    emit({ type: 'phase', phase: 'rpmdb', total: pkgs.length });
    const db = joinPath(root, TREE_RPMDB);
    const installTime = Math.floor((host.now?.() ?? Date.now()) / 1000);
    const blobs: Uint8Array[] = [];
    for (const p of pkgs) blobs.push(installedHeader(await readRpmHeadersFromBytes(p.metadataBytes, p.pkg), { installTime, tid: installTime }));
    const goneNevras = new Set(gone.map((p) => formatNevra(p.nevra)));
    await updateRpmdb(host, db, db, { remove: (ip) => goneNevras.has(formatNevra(readNevraOf(ip.blob))), add: blobs });
    await rpmdbLinks(fs, root);
    await mergeLayerTmpfiles(host, root);
    // Nothing under /var is part of a commit (the deployment's /var is the stateroot's).
    for (const e of (await fs.lstat(joinPath(root, 'var'))) ? await fs.readdir(joinPath(root, 'var')) : []) await fs.rmrf(joinPath(root, 'var', e.name));
    emit({ type: 'phase', phase: 'commit', total: 0 });
    const md = await layerMetadata(repo, input, pkgs.map((p) => p.nevra), gone);
    return await commitRoot(repo, root, pkgs, { ref: null, parent: input.baseCommit, metadata: md, timestamp: input.timestamp ?? BigInt(installTime), selinux: true, emit });
  } finally {
    await fs.rmrf(root).catch(() => undefined);
  }
}

function readNevraOf(blob: Uint8Array): Nevra {
  return readNevra(blobHeader(blob, 'rpmdb'));
}

/** The commit metadata of a layered commit (rpm-ostree.md §3.2), keys sorted, big-endian. */
async function layerMetadata(repo: Repo, input: BuildLayerInput, added: Nevra[], gone: readonly BasePackage[]): Promise<Array<[string, GVVariant]>> {
  const base = await repo.loadCommit(input.baseCommit);
  const md: Array<[string, GVVariant]> = [];
  for (const k of ['version', 'ostree.linux', 'ostree.bootable', 'ostree.source-title']) {
    const e = base.metadata.find(([x]) => x === k);
    if (e) md.push([k, e[1]]);
  }
  const goneSet = new Set(gone);
  const all = [...input.base.filter((p) => !goneSet.has(p)).map((p) => p.nevra), ...added];
  md.push(
    ['rpmostree.clientlayer', { type: 'b', value: true }],
    ['rpmostree.clientlayer_version', { type: 'u', value: CLIENTLAYER_VERSION }],
    ['rpmostree.packages', { type: 'as', value: [...input.request.packages] }],
    ['rpmostree.modules', { type: 'as', value: [] }],
    ['rpmostree.removed-base-packages', { type: 'av', value: input.removed.map((p) => nevraVariant(p.nevra)) }],
    ['rpmostree.replaced-base-packages', { type: 'a(vv)', value: input.replaced.map(([n, o]) => [nevraVariant(n.pkg.nevra), nevraVariant(o.nevra)]) }],
    ['rpmostree.replaced-base-remote-packages', { type: 'a{sv}', value: [] }],
    ['rpmostree.rpmdb.pkglist', pkglistVariant(all)],
    [
      'rpmostree.rpmmd-repos',
      {
        type: 'aa{sv}',
        value: input.repos.map((r) => [
          ['id', { type: 's', value: r.id }],
          ['timestamp', { type: 't', value: r.timestamp }],
        ]),
      },
    ],
  );
  md.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return canonicalMetadata(md);
}
