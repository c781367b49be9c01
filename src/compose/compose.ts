// `compose tree`, split as the house style asks: planCompose() is a pure look at the inputs (the
// flattened treefile, the resolved package set, the repo's previous commit) returning what would
// happen — packages to import or reuse, the input hash, whether anything changed, the next version
// — and executeCompose() carries the plan out (imports, assembly, commit). Mirrors rpm-ostree's
// unified-core compose (reference notes rpm-packages.md §7, rpm-ostree.md §1.7 and §2.2). Package
// resolution (rpm-md + solver) is injected as a PackageResolver.

import type { GVVariant } from '../format/gvariant.ts';
import { contentChecksumInput } from '../format/objects.ts';
import type { Advisory } from '../rpmmd/index.ts';
import { advisoriesVariant } from './advisories.ts';
import type { Repo } from '../repo/repo.ts';
import { resolveRev } from '../repo/refs.ts';
import type { Nevra } from '../rpm/types.ts';
import { formatNevra } from '../rpm/types.ts';
import { toHex } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { assembleRoot, commitRoot, type AssembleServices, type CachedPackage } from './assemble.ts';
import { pkgcacheRef } from './escape.ts';
import type { ComposeEvent } from './events.ts';
import type { ComposePackage } from './package.ts';
import { openCachedPackage } from './open.ts';
import { canonicalMetadata, importPackage, publishPackageRefs } from './pkgcache.ts';
import { sharedStaging } from '../repo/transaction.ts';
import { comparePackages, encodePkglist } from './pkglist.ts';
import { printTreefile, type Treefile } from './treefile.ts';

/** An enabled rpm-md repo: `rpmostree.rpmmd-repos` {id, timestamp (repomd generation time)}. */
export interface RpmmdRepoInfo {
  id: string;
  timestamp: bigint;
}

/** A package the resolver chose. */
export interface ResolvedPackage {
  nevra: Nevra;
  repoId: string;
  /** The package's checksum in its repo, `sha256:hex` (feeds the input hash). */
  checksum: string;
  /** The source RPM's file name (lockfile metadata), when the repo says it. */
  sourcerpm?: string;
  /** Opens the package (downloading it when needed); its payload is read only to import it. */
  open(): Promise<ComposePackage>;
}

export interface Resolution {
  repos: RpmmdRepoInfo[];
  packages: ResolvedPackage[];
  /** The repos' updateinfo security advisories naming an installed package (rpmostree.advisories). */
  advisories?: Advisory[];
}

/** What turns a treefile into packages (src/rpmmd + src/solve). */
export interface PackageResolver {
  resolve(tf: Treefile): Promise<Resolution>;
}

export interface PlannedPackage {
  nevra: Nevra;
  repoId: string;
  checksum: string;
  ref: string;
  action: 'import' | 'cached';
}

export interface ComposePlan {
  ref: string;
  /** The previous commit of the ref (the new commit's parent), or null. */
  parent: string | null;
  previousVersion: string | null;
  inputHash: string;
  /** The input hash equals the previous commit's: nothing to do (unless forced). */
  unchanged: boolean;
  /** The version the commit will carry, or null (no automatic-version-prefix). */
  version: string | null;
  packages: PlannedPackage[];
  repos: RpmmdRepoInfo[];
  /** `ostree-layers` then `ostree-override-layers`, resolved in the target repo. */
  layers: OstreeLayer[];
}

/** One ostree layer: a ref of the target repo and the commit it names now. */
export interface OstreeLayer {
  ref: string;
  commit: string;
  /** ostree-override-layers: may replace files (union); else only identical files may meet. */
  override: boolean;
  /** The commit's content checksum (what `ostree show` prints as ContentChecksum): feeds the input hash. */
  contentChecksum: string;
}

export interface PlanOptions {
  /** --force-nocache: compose even when the input hash is unchanged. */
  forceNocache?: boolean;
  /** Seconds since the epoch, for `<date:…>` in the version prefix. */
  now?: number;
  sha256: () => { update(d: Uint8Array): void; digest(): Uint8Array };
}

const enc = new TextEncoder();

/**
 * The input hash (`rpmostree.inputhash`): SHA-256 over the flattened treefile (printTreefile),
 * each external file (path, length, bytes), the content checksum of each ostree layer, then, in
 * package order, `install`, the NEVRA and the repodata checksum of every package.
 *
 * rpm-ostree hashes the same inputs (rpmostree-core.cxx rpmostree_context_get_state_digest,
 * treefile.rs get_checksum): SHA-256 over the hex SHA-256 of [serde_json::to_vec of its parsed
 * Treefile struct (layer names and `metadata` blanked) ‖ the externals' raw bytes
 * (postprocess-script, check-passwd file, check-groups file, add-files) ‖ each layer's content
 * checksum], then, for each package of the goal sorted by libdnf, the action string and the
 * `sha256:…` repodata checksum. The bytes cannot be matched here: the first part is serde's
 * rendering of rpm-ostree's Rust struct — its field order, which fields are skipped when unset,
 * the defaults it fills in and the canonical forms of its collections (BTreeSet of
 * whitespace-split packages…) — none of which a treefile states, and which changes between
 * rpm-ostree releases. So the hash answers "did anything change since the previous rpm-xylem
 * compose of this ref", as upstream's does for upstream; a commit composed by rpm-ostree is never
 * taken as unchanged by rpm-xylem (nor the reverse), which costs one extra compose, never a missed one.
 */
export function inputHash(tf: Treefile, packages: readonly ResolvedPackage[], sha256: PlanOptions['sha256'], layers: readonly OstreeLayer[] = []): string {
  const h = sha256();
  // As upstream, the names of ostree-layers and `metadata` do not count: the layers' content does.
  const flattened = { ...tf.flattened };
  delete flattened['ostree-layers'];
  delete flattened.metadata;
  h.update(enc.encode(printTreefile({ ...tf, flattened })));
  for (const e of tf.externals) {
    h.update(enc.encode(`\0${e.path}\0${e.data.length}\0`));
    h.update(e.data);
  }
  for (const l of layers) h.update(enc.encode(`\0layer\0${l.override ? 'override' : 'identical'}\0${l.contentChecksum}`));
  const sorted = [...packages].sort((a, b) => comparePackages(a.nevra, b.nevra));
  for (const p of sorted) h.update(enc.encode(`\0install\0${formatNevra(p.nevra)}\0${p.checksum}`));
  return toHex(h.digest());
}

function strftime(fmt: string, now: number): string {
  const d = new Date(now * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return fmt.replace(/%([YmdHMS%])/g, (_m, c: string) =>
    c === 'Y' ? String(d.getUTCFullYear()) : c === 'm' ? p2(d.getUTCMonth() + 1) : c === 'd' ? p2(d.getUTCDate()) : c === 'H' ? p2(d.getUTCHours()) : c === 'M' ? p2(d.getUTCMinutes()) : c === 'S' ? p2(d.getUTCSeconds()) : '%',
  );
}

/**
 * The next automatic version: `prefix` when the previous version does not extend it, else
 * prefix + suffix + (n + 1) — `10` → `10.1` → `10.2`. `<date:FORMAT>` in the prefix is expanded.
 */
export function nextVersion(prefix: string, suffix: string, previous: string | null, now: number): string {
  const p = prefix.replace(/<date:([^>]*)>/g, (_m, f: string) => strftime(f, now));
  if (previous === null || !previous.startsWith(p)) return p;
  if (previous === p) return `${p}${suffix}1`;
  const rest = previous.slice(p.length);
  if (!rest.startsWith(suffix)) return p;
  const n = rest.slice(suffix.length);
  if (!/^\d+$/.test(n)) return p;
  return `${p}${suffix}${Number(n) + 1}`;
}

function metaString(md: ReadonlyArray<[string, GVVariant]>, key: string): string | null {
  const e = md.find(([k]) => k === key);
  return e && e[1].type === 's' ? (e[1].value as string) : null;
}

/** Looks at the inputs and the repo; writes nothing. */
export async function planCompose(repo: Repo, cache: Repo, tf: Treefile, resolution: Resolution, opts: PlanOptions): Promise<ComposePlan> {
  if (!tf || typeof tf.ref !== 'string') throw new TypeError('planCompose: a loaded treefile is required');
  if (!resolution || !Array.isArray(resolution.packages)) throw new TypeError('planCompose: a resolution { repos, packages } is required');
  const parent = await resolveRev(repo, tf.ref, true);
  const prevMeta = parent ? (await repo.loadCommit(parent)).metadata : [];
  const previousVersion = metaString(prevMeta, 'version');
  const previousHash = metaString(prevMeta, 'rpmostree.inputhash');
  const layers: OstreeLayer[] = [];
  for (const [refs, override] of [
    [tf.ostreeLayers, false],
    [tf.ostreeOverrideLayers, true],
  ] as const)
    for (const ref of refs) {
      const commit = await resolveRev(repo, ref, true);
      if (!commit) throw new XylemError(`${override ? 'ostree-override-layers' : 'ostree-layers'}: Refspec '${ref}' not found in ${repo.path}`, 'ENOENT');
      const c = await repo.loadCommit(commit);
      const ch = opts.sha256();
      ch.update(contentChecksumInput(c));
      layers.push({ ref, commit, override, contentChecksum: toHex(ch.digest()) });
    }
  const hash = inputHash(tf, resolution.packages, opts.sha256, layers);
  const packages: PlannedPackage[] = [];
  for (const p of resolution.packages) {
    const ref = pkgcacheRef(p.nevra);
    packages.push({ nevra: p.nevra, repoId: p.repoId, checksum: p.checksum, ref, action: (await resolveRev(cache, ref, true)) ? 'cached' : 'import' });
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const version = tf.automaticVersionPrefix !== null ? nextVersion(tf.automaticVersionPrefix, tf.automaticVersionSuffix, previousVersion, now) : null;
  return {
    ref: tf.ref,
    parent,
    previousVersion,
    inputHash: hash,
    unchanged: !opts.forceNocache && previousHash === hash,
    version,
    packages,
    repos: resolution.repos,
    layers,
  };
}

/** JSON values of add-commit-metadata as GVariants (strings s, booleans b, integers x, other numbers d). */
export function jsonToVariant(v: unknown, key: string): GVVariant {
  if (typeof v === 'string') return { type: 's', value: v };
  if (typeof v === 'boolean') return { type: 'b', value: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { type: 'x', value: BigInt(v) } : { type: 'd', value: v };
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return { type: 'as', value: v };
  if (Array.isArray(v)) return { type: 'av', value: v.map((x) => jsonToVariant(x, key)) };
  if (v !== null && typeof v === 'object') return { type: 'a{sv}', value: Object.entries(v).map(([k, x]) => [k, jsonToVariant(x, `${key}.${k}`)]) };
  throw new XylemError(`add-commit-metadata: '${key}' has a value GVariant cannot hold`, 'EINVAL');
}

export interface ExecuteOptions {
  /** A folder for the assembled root (must not exist); removed afterwards. */
  workdir: string;
  /** Commit timestamp (seconds); default now. */
  timestamp?: bigint;
  /** Opens a cached package's headers; default: from its commit's rpmostree.metadata (no download). */
  openCached?(ref: string, p: ResolvedPackage): Promise<ComposePackage>;
  services?: AssembleServices;
  emit?: (e: ComposeEvent) => void;
}

export interface ComposeResult {
  /** The new commit, or null when the plan was unchanged. */
  commit: string | null;
  imported: number;
}

/** Carries out a plan: imports missing packages, assembles, commits. */
export async function executeCompose(repo: Repo, cache: Repo, tf: Treefile, resolution: Resolution, plan: ComposePlan, opts: ExecuteOptions): Promise<ComposeResult> {
  const emit = opts.emit ?? (() => undefined);
  emit({ type: 'input-hash', hash: plan.inputHash });
  if (plan.unchanged) {
    emit({ type: 'unchanged' });
    return { commit: null, imported: 0 };
  }
  opts.services?.rpmdb?.prepare?.();
  emit({ type: 'phase', phase: 'import', total: plan.packages.filter((p) => p.action === 'import').length });
  const cached: CachedPackage[] = [];
  let imported = 0;
  const repoTs = new Map(resolution.repos.map((r) => [r.id, r.timestamp]));
  const newRefs: Array<{ ref: string; checksum: string }> = [];
  const staging = sharedStaging(cache);
  try {
    for (let i = 0; i < plan.packages.length; i++) {
      const pp = plan.packages[i]!;
      const rp = resolution.packages[i]!;
      let pkg: ComposePackage;
      if (pp.action === 'import') {
        pkg = await rp.open();
        const ts = repoTs.get(rp.repoId);
        const r = await importPackage(cache, pkg, {
          repo: ts !== undefined ? { id: rp.repoId, timestamp: ts } : undefined,
          repodataChecksum: rp.checksum,
          documentation: tf.documentation,
          deferRef: true,
          staging,
        });
        if (r.imported) newRefs.push({ ref: r.ref, checksum: r.checksum });
        await (pkg as { close?: () => Promise<void> }).close?.();
        if (r.imported) imported++;
        emit({ type: 'import', nevra: pp.nevra, ref: r.ref, cached: !r.imported });
        cached.push({ pkg, commit: r.checksum });
      } else {
        pkg = opts.openCached ? await opts.openCached(pp.ref, rp) : await openCachedPackage(cache, pp.ref);
        emit({ type: 'import', nevra: pp.nevra, ref: pp.ref, cached: true });
        cached.push({ pkg, commit: (await resolveRev(cache, pp.ref))! });
      }
    }
    // The imports wrote their objects unsynced: one syncfs, then their refs.
    await publishPackageRefs(cache, newRefs);
  } finally {
    await cache.fs.rmrf(staging.dir);
  }
  const fs = repo.fs;
  await fs.rmrf(opts.workdir);
  try {
    const { kernel, devino } = await assembleRoot(cache, opts.workdir, cached, tf, { ...opts.services, emit }, {
      previous: plan.parent ? { repo, commit: plan.parent } : null,
      version: plan.version,
      layers: plan.layers.length > 0 ? { repo, layers: plan.layers } : undefined,
    });
    emit({ type: 'phase', phase: 'commit', total: 0 });
    const md: Array<[string, GVVariant]> = [];
    for (const [k, v] of Object.entries(tf.addCommitMetadata)) md.push([k, jsonToVariant(v, k)]);
    const set = (k: string, v: GVVariant) => {
      const i = md.findIndex(([x]) => x === k);
      if (i >= 0) md.splice(i, 1);
      md.push([k, v]);
    };
    if (plan.version !== null) set('version', { type: 's', value: plan.version });
    set('rpmostree.inputhash', { type: 's', value: plan.inputHash });
    if (tf.repoMetadata === 'inline')
      set('rpmostree.rpmmd-repos', {
        type: 'aa{sv}',
        value: plan.repos.map((r) => [
          ['id', { type: 's', value: r.id }],
          ['timestamp', { type: 't', value: r.timestamp }],
        ]),
      });
    const adv = tf.advisoriesMetadata === 'inline' ? advisoriesVariant(resolution.advisories ?? [], plan.packages.map((p) => p.nevra)) : null;
    if (adv) set('rpmostree.advisories', adv);
    if (tf.initramfsArgs.length > 0) set('rpmostree.initramfs-args', { type: 'as', value: [...tf.initramfsArgs] });
    set('rpmostree.rpmdb.pkglist', encodePkglist(plan.packages.map((p) => p.nevra)));
    if (kernel) {
      set('ostree.linux', { type: 's', value: kernel.kver });
      set('ostree.bootable', { type: 'b', value: true });
    }
    md.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const timestamp = opts.timestamp ?? BigInt(Math.floor(Date.now() / 1000));
    const commit = await commitRoot(repo, opts.workdir, cached.map((c) => c.pkg), { ref: plan.ref, parent: plan.parent, metadata: canonicalMetadata(md), timestamp, selinux: tf.selinux, devino, emit });
    emit({ type: 'committed', ref: plan.ref, checksum: commit, version: plan.version });
    return { commit, imported };
  } finally {
    await fs.rmrf(opts.workdir).catch(() => undefined);
  }
}
