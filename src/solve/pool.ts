// The package pool the solver works on, kept compact so a whole distribution (60,000+ packages)
// fits in a few tens of MiB: every string is interned once, per-package fields live in typed
// arrays, and each package's dependencies are ranges into one shared Int32Array of
// (name id, flags, evr id) triples — no JS object per dependency. The whatprovides index
// (provide name → packages) and the file index are built on first use; answers are cached per
// dependency. File requires are answered from primary files and explicit path provides first;
// the caller's filelists callback is asked only for paths nothing in primary covers.
// Mirrors libsolv's pool (pool.h / pool_whatprovides) in spirit: ids, not objects.

import type { Dependency, Nevra, PackageDependencies } from '../rpm/types.ts';
import { DepFlag } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';
import { isRich, parseRich } from './rich.ts';
import type { RichNode } from './rich.ts';
import { rangesOverlap } from './version.ts';

/** Dependency kinds, in the order ranges are stored per package. */
export const DepKind = { PROVIDES: 0, REQUIRES: 1, CONFLICTS: 2, OBSOLETES: 3, RECOMMENDS: 4, SUGGESTS: 5, SUPPLEMENTS: 6, ENHANCES: 7 } as const;
const KIND_KEYS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;
const NKINDS = 8;

export const MAX_PACKAGES = 5_000_000;
export const MAX_DEPS_PER_PACKAGE = 200_000;
export const MAX_FILES_PER_PACKAGE = 2_000_000;
export const MAX_STRING_LENGTH = 65_536;

/** A repository in the pool. `priority`: lower wins (dnf), default 99. `installed`: the system set. */
export interface PoolRepo {
  name: string;
  priority: number;
  installed: boolean;
}

/** Extra per-package data from rpm-md: location, sizes, the primary file list. */
export interface PackageInfo {
  /** Repo index from addRepo. */
  repo: number;
  /** Paths listed in primary.xml (or all files, for a .rpm / installed header). */
  files?: Iterable<string>;
  location?: string;
  packageSize?: number;
  installedSize?: number;
}

/** Answers file requires nothing in primary covers: the packages owning `path` (filelists.xml). */
export type FilelistsProvider = (path: string) => Iterable<number>;

class GrowI32 {
  a: Int32Array;
  n = 0;
  constructor(cap = 1024) {
    this.a = new Int32Array(cap);
  }
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  ensure(extra: number): void {
    if (this.n + extra <= this.a.length) return;
    let cap = this.a.length * 2;
    while (cap < this.n + extra) cap *= 2;
    const b = new Int32Array(cap);
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  trimmed(): Int32Array {
    return this.a.subarray(0, this.n);
  }
}

const EMPTY = new Int32Array(0);
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

export class Pool {
  private strs: string[] = [''];
  private strIds = new Map<string, number>([['', 0]]);
  readonly repos: PoolRepo[] = [];
  private nPkgs = 0;
  // per package (capacity grows)
  private pName = new GrowI32();
  private pEpoch = new GrowI32(); // -1: none
  private pVer = new GrowI32();
  private pRel = new GrowI32();
  private pArch = new GrowI32();
  private pEvr = new GrowI32();
  private pRepo = new GrowI32();
  private pLoc = new GrowI32();
  private pDepStart = new GrowI32(); // NKINDS+1 entries per package? no: NKINDS per package + global end
  private pFileStart = new GrowI32();
  private pSize = new GrowI32();
  private pInstSize = new GrowI32();
  private deps = new GrowI32(4096); // triples
  private files = new GrowI32(4096);
  // lazily built indexes
  private provIndex: { start: Int32Array; pkg: Int32Array; dep: Int32Array } | null = null;
  private fileIndex: { start: Int32Array; pkg: Int32Array } | null = null;
  private nameIndex: { start: Int32Array; pkg: Int32Array } | null = null;
  private whatCache = new Map<string, Int32Array>();
  private installedCache: Int32Array | null = null;
  private withKindCache = new Map<number, Int32Array>();
  private obsIndex: Map<number, Int32Array> | null = null;
  private richCache = new Map<number, RichNode>();
  private filelists: FilelistsProvider | null = null;
  private filelistCache = new Map<number, Int32Array>();

  /** Interns a string; returns its id. */
  intern(s: string): number {
    let id = this.strIds.get(s);
    if (id !== undefined) return id;
    if (s.length > MAX_STRING_LENGTH) throw new XylemError(`pool: string longer than ${MAX_STRING_LENGTH} characters`, 'EINVAL');
    // a slice of a bigger string (a whole Depends line, an XML chunk) would keep its parent alive:
    // store a fresh copy (engines share short slices' storage only from 13 characters up)
    if (s.length >= 13) s = DECODER.decode(ENCODER.encode(s));
    id = this.strs.length;
    this.strs.push(s);
    this.strIds.set(s, id);
    return id;
  }
  /** Id of an already interned string, or -1. */
  lookup(s: string): number {
    return this.strIds.get(s) ?? -1;
  }
  str(id: number): string {
    return this.strs[id]!;
  }
  get stringCount(): number {
    return this.strs.length;
  }

  /** Adds a repository; returns its index. */
  addRepo(name: string, opts: { priority?: number; installed?: boolean } = {}): number {
    if (typeof name !== 'string' || name === '') throw new XylemError('addRepo: repository needs a name', 'EINVAL');
    const priority = opts.priority ?? 99;
    if (!Number.isInteger(priority)) throw new XylemError(`addRepo ${name}: priority must be an integer`, 'EINVAL');
    if (this.repos.some((r) => r.name === name)) throw new XylemError(`addRepo: repository ${name} already in the pool`, 'EINVAL');
    this.repos.push({ name, priority, installed: opts.installed === true });
    return this.repos.length - 1;
  }

  /** Sets the callback answering file requires from filelists (called once per path, lazily). */
  setFilelistsProvider(fn: FilelistsProvider | null): void {
    this.filelists = fn;
    this.filelistCache.clear();
    this.whatCache.clear();
  }

  get size(): number {
    return this.nPkgs;
  }

  /** Adds one package; returns its id (0-based). */
  addPackage(nevra: Nevra, deps: PackageDependencies, info: PackageInfo): number {
    const label = nevra && typeof nevra.name === 'string' ? nevra.name : '?';
    if (!nevra || typeof nevra.name !== 'string' || nevra.name === '' || /\s/.test(nevra.name)) throw new XylemError(`addPackage: bad package name ${JSON.stringify(label)}`, 'EINVAL');
    if (typeof nevra.version !== 'string' || nevra.version === '' || typeof nevra.release !== 'string' || typeof nevra.arch !== 'string' || nevra.arch === '')
      throw new XylemError(`addPackage ${label}: version, release and arch are required`, 'EINVAL');
    for (const part of [nevra.name, nevra.version, nevra.release, nevra.arch]) if (part.length > MAX_STRING_LENGTH) throw new XylemError(`addPackage ${label.slice(0, 100)}: NEVRA part longer than ${MAX_STRING_LENGTH}`, 'EINVAL');
    if (nevra.epoch !== null && (!Number.isInteger(nevra.epoch) || nevra.epoch < 0 || nevra.epoch > 0x7fffffff)) throw new XylemError(`addPackage ${label}: bad epoch ${nevra.epoch}`, 'EINVAL');
    if (!info || !Number.isInteger(info.repo) || info.repo < 0 || info.repo >= this.repos.length) throw new XylemError(`addPackage ${label}: unknown repo index ${info?.repo}`, 'EINVAL');
    if (this.nPkgs >= MAX_PACKAGES) throw new XylemError(`pool: more than ${MAX_PACKAGES} packages`, 'ELIMIT');
    let total = 0;
    for (const k of KIND_KEYS) {
      const list = deps?.[k] ?? [];
      if (!Array.isArray(list)) throw new XylemError(`addPackage ${label}: ${k} must be an array`, 'EINVAL');
      total += list.length;
    }
    if (total > MAX_DEPS_PER_PACKAGE) throw new XylemError(`addPackage ${label}: ${total} dependencies (limit ${MAX_DEPS_PER_PACKAGE})`, 'ELIMIT');
    // validate everything before the pool changes: a refused package leaves no trace
    for (let k = 0; k < NKINDS; k++) for (const d of deps?.[KIND_KEYS[k]!] ?? []) checkDep(label, d, k);
    const files: string[] = [];
    if (info.files) {
      for (const f of info.files) {
        if (typeof f !== 'string' || !f.startsWith('/')) throw new XylemError(`addPackage ${label}: file path ${JSON.stringify(f)} is not absolute`, 'EINVAL');
        if (files.length >= MAX_FILES_PER_PACKAGE) throw new XylemError(`addPackage ${label}: more than ${MAX_FILES_PER_PACKAGE} files`, 'ELIMIT');
        files.push(f);
      }
    }
    const id = this.nPkgs++;
    this.pName.push(this.intern(nevra.name));
    this.pEpoch.push(nevra.epoch ?? -1);
    this.pVer.push(this.intern(nevra.version));
    this.pRel.push(this.intern(nevra.release));
    this.pArch.push(this.intern(nevra.arch));
    const evr = `${nevra.epoch !== null ? `${nevra.epoch}:` : ''}${nevra.version}${nevra.release !== '' ? `-${nevra.release}` : ''}`;
    this.pEvr.push(this.intern(evr));
    this.pRepo.push(info.repo);
    this.pLoc.push(info.location ? this.intern(info.location) : 0);
    this.pSize.push(clampSize(info.packageSize));
    this.pInstSize.push(clampSize(info.installedSize));
    this.deps.ensure(total * 3);
    for (let k = 0; k < NKINDS; k++) {
      this.pDepStart.push(this.deps.n / 3);
      for (const d of deps?.[KIND_KEYS[k]!] ?? []) this.pushDep(label, d, k);
    }
    this.pFileStart.push(this.files.n);
    for (const f of files) this.files.push(this.intern(f));
    this.provIndex = null;
    this.fileIndex = null;
    this.nameIndex = null;
    this.whatCache.clear();
    this.installedCache = null;
    this.withKindCache.clear();
    this.obsIndex = null;
    return id;
  }

  private pushDep(label: string, d: Dependency, kind: number): void {
    const version = typeof d.version === 'string' ? d.version : '';
    // rpmlib() requires describe the installing rpm, not packages: solvers ignore them
    if (kind === DepKind.REQUIRES && (d.flags & DepFlag.RPMLIB || d.name.startsWith('rpmlib('))) return;
    this.deps.push(this.intern(d.name));
    this.deps.push(d.flags);
    this.deps.push(version === '' ? 0 : this.intern(version));
  }

  // ---- per-package accessors ------------------------------------------------------------------
  name(p: number): number {
    return this.pName.a[p]!;
  }
  arch(p: number): number {
    return this.pArch.a[p]!;
  }
  evr(p: number): number {
    return this.pEvr.a[p]!;
  }
  repo(p: number): number {
    return this.pRepo.a[p]!;
  }
  isInstalled(p: number): boolean {
    return this.repos[this.pRepo.a[p]!]!.installed;
  }
  priority(p: number): number {
    return this.repos[this.pRepo.a[p]!]!.priority;
  }
  nevra(p: number): Nevra {
    this.check(p);
    const e = this.pEpoch.a[p]!;
    return { name: this.strs[this.pName.a[p]!]!, epoch: e < 0 ? null : e, version: this.strs[this.pVer.a[p]!]!, release: this.strs[this.pRel.a[p]!]!, arch: this.strs[this.pArch.a[p]!]! };
  }
  location(p: number): string {
    return this.strs[this.pLoc.a[p]!]!;
  }
  sizes(p: number): { packageSize: number; installedSize: number } {
    return { packageSize: this.pSize.a[p]!, installedSize: this.pInstSize.a[p]! };
  }
  private check(p: number): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.nPkgs) throw new XylemError(`pool: no package ${p}`, 'EINVAL');
  }
  /** Dependency entry range [start, end) of one kind for package p (entry indexes). */
  depRange(p: number, kind: number): [number, number] {
    const base = p * NKINDS + kind;
    const start = this.pDepStart.a[base]!;
    const end = kind + 1 < NKINDS ? this.pDepStart.a[base + 1]! : p + 1 < this.nPkgs ? this.pDepStart.a[base + 1]! : this.deps.n / 3;
    return [start, end];
  }
  depName(e: number): number {
    return this.deps.a[e * 3]!;
  }
  depFlags(e: number): number {
    return this.deps.a[e * 3 + 1]!;
  }
  depEvr(e: number): number {
    return this.deps.a[e * 3 + 2]!;
  }
  /** Files of p (string ids). */
  fileRange(p: number): [number, number] {
    const s = this.pFileStart.a[p]!;
    const e = p + 1 < this.nPkgs ? this.pFileStart.a[p + 1]! : this.files.n;
    return [s, e];
  }
  fileAt(i: number): number {
    return this.files.a[i]!;
  }

  /** Parsed tree of a rich dependency (by name id), cached. */
  rich(nameId: number): RichNode {
    let t = this.richCache.get(nameId);
    if (!t) {
      t = parseRich(this.strs[nameId]!);
      this.richCache.set(nameId, t);
    }
    return t;
  }

  // ---- indexes --------------------------------------------------------------------------------
  private buildProvIndex(): { start: Int32Array; pkg: Int32Array; dep: Int32Array } {
    const ns = this.strs.length;
    const count = new Int32Array(ns + 1);
    for (let p = 0; p < this.nPkgs; p++) {
      count[this.pName.a[p]!]!++;
      const [s, e] = this.depRange(p, DepKind.PROVIDES);
      for (let i = s; i < e; i++) count[this.deps.a[i * 3]!]!++;
    }
    const start = new Int32Array(ns + 1);
    for (let i = 0; i < ns; i++) start[i + 1] = start[i]! + count[i]!;
    const fill = start.slice(0, ns);
    const pkg = new Int32Array(start[ns]!);
    const dep = new Int32Array(start[ns]!);
    for (let p = 0; p < this.nPkgs; p++) {
      const n = this.pName.a[p]!;
      pkg[fill[n]!] = p;
      dep[fill[n]!++] = -1; // implicit self-provide name = evr
      const [s, e] = this.depRange(p, DepKind.PROVIDES);
      for (let i = s; i < e; i++) {
        const nm = this.deps.a[i * 3]!;
        pkg[fill[nm]!] = p;
        dep[fill[nm]!++] = i;
      }
    }
    return { start, pkg, dep };
  }
  private buildFileIndex(): { start: Int32Array; pkg: Int32Array } {
    const ns = this.strs.length;
    const count = new Int32Array(ns + 1);
    for (let i = 0; i < this.files.n; i++) count[this.files.a[i]!]!++;
    const start = new Int32Array(ns + 1);
    for (let i = 0; i < ns; i++) start[i + 1] = start[i]! + count[i]!;
    const fill = start.slice(0, ns);
    const pkg = new Int32Array(start[ns]!);
    for (let p = 0; p < this.nPkgs; p++) {
      const [s, e] = this.fileRange(p);
      for (let i = s; i < e; i++) pkg[fill[this.files.a[i]!]!++] = p;
    }
    return { start, pkg };
  }
  private buildNameIndex(): { start: Int32Array; pkg: Int32Array } {
    const ns = this.strs.length;
    const start = new Int32Array(ns + 1);
    for (let p = 0; p < this.nPkgs; p++) start[this.pName.a[p]! + 1]!++;
    for (let i = 0; i < ns; i++) start[i + 1]! += start[i]!;
    const fill = start.slice(0, ns);
    const pkg = new Int32Array(this.nPkgs);
    for (let p = 0; p < this.nPkgs; p++) pkg[fill[this.pName.a[p]!]!++] = p;
    return { start, pkg };
  }

  /** Packages of installed repos (the system set), ascending; cached. */
  installedPackages(): Int32Array {
    if (!this.installedCache) {
      const out: number[] = [];
      const n = this.nPkgs;
      for (let p = 0; p < n; p++) if (this.repos[this.pRepo.a[p]!]!.installed) out.push(p);
      this.installedCache = Int32Array.from(out);
    }
    return this.installedCache;
  }

  /** Packages with at least one dependency of `kind` (e.g. every package with Supplements); cached. */
  packagesWith(kind: number): Int32Array {
    let hit = this.withKindCache.get(kind);
    if (!hit) {
      const out: number[] = [];
      for (let p = 0; p < this.nPkgs; p++) {
        const [s, e] = this.depRange(p, kind);
        if (e > s) out.push(p);
      }
      hit = Int32Array.from(out);
      this.withKindCache.set(kind, hit);
    }
    return hit;
  }

  /** (package, obsoletes entry) pairs whose Obsoletes name `nameId`, flattened; cached index. */
  obsoletesNaming(nameId: number): Int32Array {
    if (!this.obsIndex) {
      const m = new Map<number, number[]>();
      for (const p of this.packagesWith(DepKind.OBSOLETES)) {
        const [s, e] = this.depRange(p, DepKind.OBSOLETES);
        for (let i = s; i < e; i++) {
          const l = m.get(this.deps.a[i * 3]!);
          if (l) l.push(p, i);
          else m.set(this.deps.a[i * 3]!, [p, i]);
        }
      }
      this.obsIndex = new Map([...m].map(([k, v]) => [k, Int32Array.from(v)]));
    }
    return this.obsIndex.get(nameId) ?? EMPTY;
  }

  /** Packages named exactly `nameId`. */
  packagesNamed(nameId: number): Int32Array {
    if (nameId < 0) return EMPTY;
    this.nameIndex ??= this.buildNameIndex();
    if (nameId + 1 >= this.nameIndex.start.length) return EMPTY;
    return this.nameIndex.pkg.subarray(this.nameIndex.start[nameId]!, this.nameIndex.start[nameId + 1]!);
  }

  /**
   * Packages providing (nameId, flags, evrId): explicit provides with an overlapping range, the
   * implicit `name = evr` of every package, and for `/paths` the owners of that file (primary
   * files, then filelists through the callback). Sorted ascending, no duplicates.
   */
  whatProvides(nameId: number, flags: number, evrId: number): Int32Array {
    if (nameId <= 0) return EMPTY;
    const sense = flags & DepFlag.SENSEMASK;
    const key = sense === 0 || evrId === 0 ? `${nameId}` : `${nameId}:${sense}:${evrId}`;
    const hit = this.whatCache.get(key);
    if (hit) return hit;
    this.provIndex ??= this.buildProvIndex();
    const out: number[] = [];
    const idx = this.provIndex;
    if (nameId + 1 < idx.start.length) {
      const evr = this.strs[evrId]!;
      for (let i = idx.start[nameId]!; i < idx.start[nameId + 1]!; i++) {
        const p = idx.pkg[i]!;
        const d = idx.dep[i]!;
        if (sense !== 0 && evrId !== 0) {
          const ok = d < 0 ? rangesOverlap(DepFlag.EQUAL, this.strs[this.pEvr.a[p]!]!, sense, evr) : rangesOverlap(this.deps.a[d * 3 + 1]!, this.strs[this.deps.a[d * 3 + 2]!]!, sense, evr);
          if (!ok) continue;
        }
        out.push(p);
      }
    }
    const name = this.strs[nameId]!;
    if (name.charCodeAt(0) === 47 /* / */) {
      this.fileIndex ??= this.buildFileIndex();
      const fi = this.fileIndex;
      let owned = false;
      if (nameId + 1 < fi.start.length)
        for (let i = fi.start[nameId]!; i < fi.start[nameId + 1]!; i++) {
          out.push(fi.pkg[i]!);
          owned = true;
        }
      if (!owned && out.length === 0 && this.filelists) {
        let fl = this.filelistCache.get(nameId);
        if (!fl) {
          const got: number[] = [];
          for (const p of this.filelists(name)) {
            if (!Number.isInteger(p) || p < 0 || p >= this.nPkgs) throw new XylemError(`filelists provider returned unknown package ${p} for ${name}`, 'EINVAL');
            got.push(p);
          }
          fl = Int32Array.from(got);
          this.filelistCache.set(nameId, fl);
        }
        for (const p of fl) out.push(p);
      }
    }
    out.sort((a, b) => a - b);
    let w = 0;
    for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[i - 1]) out[w++] = out[i]!;
    const res = Int32Array.from(out.slice(0, w));
    this.whatCache.set(key, res);
    return res;
  }

  /** whatProvides for strings (interning nothing new: unknown names have no providers). */
  whatProvidesDep(name: string, flags: number, evr: string): Int32Array {
    // paths may be owned by files only the filelists callback knows about
    const n = name.charCodeAt(0) === 47 && this.filelists ? this.intern(name) : this.lookup(name);
    if (n < 0) return EMPTY;
    const e = evr === '' ? 0 : this.lookup(evr);
    if (e < 0) {
      // version string never seen: intern it (it is only a key)
      return this.whatProvides(n, flags, this.intern(evr));
    }
    return this.whatProvides(n, flags, e);
  }

  /** Rough bytes held by the typed arrays (strings not counted). */
  arrayBytes(): number {
    const arrs = [this.pName, this.pEpoch, this.pVer, this.pRel, this.pArch, this.pEvr, this.pRepo, this.pLoc, this.pDepStart, this.pFileStart, this.pSize, this.pInstSize, this.deps, this.files];
    return arrs.reduce((s, g) => s + g.a.byteLength, 0);
  }
}

function checkDep(label: string, d: Dependency, kind: number): void {
  if (!d || typeof d.name !== 'string' || d.name === '') throw new XylemError(`addPackage ${label}: dependency without a name`, 'EINVAL');
  if (d.name.length > MAX_STRING_LENGTH) throw new XylemError(`addPackage ${label}: dependency name longer than ${MAX_STRING_LENGTH}`, 'EINVAL');
  if (!Number.isInteger(d.flags) || d.flags < 0) throw new XylemError(`addPackage ${label}: dependency ${d.name} has bad flags`, 'EINVAL');
  if (kind === DepKind.PROVIDES && isRich(d.name)) throw new XylemError(`addPackage ${label}: rich dependency ${d.name} in Provides`, 'ERICHDEP');
}

function clampSize(n: number | undefined): number {
  if (n === undefined || !Number.isFinite(n) || n < 0) return 0;
  return Math.min(n, 0x7fffffff);
}
