// A sysroot on disk (boot/, ostree/repo, ostree/deploy/*): loading the current boot set the way
// libostree does — boot/loader → loader.B, ostree/boot.B → boot.B.S, the BLS entries of
// loader.B and the ostree= argument of each pointing through ostree/boot.B/OS/BOOTCSUM/N at a
// deployment — and the queries deploy/upgrade/status need (booted, merge, pending, rollback).

import type { Host, FsHost } from '../host.ts';
import { KeyFile } from '../format/keyfile.ts';
import { Repo } from '../repo/repo.ts';
import { openSysrootRepo } from '../remote/config.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { BootConfig, parseOstreeKarg } from './bootconfig.ts';
import { overlaysOfBootconfig } from './overlay-initrd.ts';
import { KernelArgs } from './kargs.ts';
import {
  type Deployment,
  deploymentRelPath,
  deploymentsEqual,
  originRelPath,
  parseDeployDirName,
  validateOsname,
} from './deployment.ts';
import { readlinkOrNull, readSmallText } from './fsutil.ts';
import { loadStaged, type StagedState } from './staged.ts';
import { lockSysroot, unlockSysroot } from './lock.ts';

/** More boot entries than this is not a real sysroot. */
const MAX_ENTRIES = 4096;

/** Debug switches from OSTREE_SYSROOT_DEBUG (comma-separated). */
export interface SysrootDebug {
  mutableDeployments: boolean;
  noXattrs: boolean;
  testFifreeze: boolean;
  /** Ignore dtb/ folders next to kernels. */
  noDtb: boolean;
  /**
   * Xylem's own: never freeze /boot's filesystem. For tests that emulate a booted system on the
   * host's own root filesystem, which must not be frozen under everyone else's feet.
   */
  noFsfreeze: boolean;
}

export function parseSysrootDebug(value: string | undefined): SysrootDebug {
  const parts = new Set((value ?? '').split(',').map((s) => s.trim()));
  return {
    mutableDeployments: parts.has('mutable-deployments'),
    noXattrs: parts.has('no-xattrs'),
    testFifreeze: parts.has('test-fifreeze'),
    noDtb: parts.has('no-dtb'),
    noFsfreeze: parts.has('no-fsfreeze'),
  };
}

export interface SysrootLoadOptions {
  /**
   * Where transient state lives (the staged deployment): libostree's /run/ostree. Only a booted
   * sysroot reads it, as libostree.
   */
  runDir?: string;
  /**
   * Take the sysroot lock (ostree/lock) before reading, waiting for other holders, as `ostree
   * admin` does for the commands that write: what is loaded then stays true until unlock().
   * Writes take the lock anyway (ensureWriteLock), re-reading the sysroot if they had to.
   */
  lock?: boolean;
  /** Called once when the lock is busy and loading waits for it. */
  onLockWait?: () => void;
}

export class Sysroot {
  readonly host: Host;
  readonly fs: FsHost;
  /** The sysroot folder as given (absolute or relative to the cwd). */
  readonly path: string;
  readonly debug: SysrootDebug;
  bootversion = 0;
  subbootversion = 0;
  deployments: Deployment[] = [];
  booted: Deployment | null = null;
  /**
   * The deployment this process is really running in (this sysroot is "/" and its root is "/"),
   * whatever `booted` is later set to. Only then does the run directory belong to this sysroot,
   * so only then may a deployment be staged by default (rpm-xylem).
   */
  runningDeployment: Deployment | null = null;
  /** The staged deployment (also deployments[0]), when booted and one is staged. */
  staged: Deployment | null = null;
  stagedState: StagedState | null = null;
  /** See SysrootLoadOptions.runDir. */
  readonly runDir: string;
  private repoCache: Repo | null = null;
  private locked = false;
  private readonly onLockWait: (() => void) | undefined;

  private constructor(host: Host, path: string, opts: SysrootLoadOptions = {}) {
    this.host = host;
    this.runDir = opts.runDir ?? '/run/ostree';
    this.fs = host.fs;
    this.path = path;
    this.debug = parseSysrootDebug(host.env?.OSTREE_SYSROOT_DEBUG);
    this.onLockWait = opts.onLockWait;
  }

  /** Opens and loads the sysroot at `path` (it must have ostree/repo). */
  static async load(host: Host, path: string, opts: SysrootLoadOptions = {}): Promise<Sysroot> {
    if (typeof path !== 'string' || path === '') throw new XylemError('A sysroot path is required');
    if (opts.runDir !== undefined && (typeof opts.runDir !== 'string' || opts.runDir === '')) throw new XylemError('runDir must be a non-empty path');
    if (opts.lock !== undefined && typeof opts.lock !== 'boolean') throw new XylemError('lock must be a boolean');
    if (opts.onLockWait !== undefined && typeof opts.onLockWait !== 'function') throw new XylemError('onLockWait must be a function');
    const s = new Sysroot(host, path, opts);
    if (!(await host.fs.stat(path))) throw new XylemError(`opendir(${path}): No such file or directory`);
    if (!(await host.fs.stat(s.abs('ostree/repo'))))
      throw new XylemError(`No sysroot found at ${path}: ostree/repo is missing (run: ostree admin init-fs)`);
    if (opts.lock) await s.lock();
    try {
      await s.reload();
    } catch (e) {
      await s.unlock();
      throw e;
    }
    return s;
  }

  /** Whether this object holds the sysroot lock. */
  get isLocked(): boolean {
    return this.locked;
  }

  /**
   * Takes the sysroot lock (ostree_sysroot_lock), waiting for other processes; no-op when held.
   * Resolves true when the lock was free in this process (false: another holder here, such as
   * rpm-xylem's transaction, had it already).
   */
  async lock(): Promise<boolean> {
    if (this.locked) return false;
    const took = await lockSysroot(this.host, this.path, this.onLockWait ? { onWait: this.onLockWait } : {});
    this.locked = true;
    return took;
  }

  /** Releases the sysroot lock (ostree_sysroot_unlock); no-op when not held. */
  async unlock(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    await unlockSysroot(this.host, this.path);
  }

  /**
   * Every engine function that writes to the sysroot calls this first: without the lock it takes
   * it, then re-reads the sysroot (another process may have changed it since load) and keeps it
   * until unlock() or the process ends, so a sequence of writes is not interleaved. When another
   * holder of this process has the lock already, that holder's hold covers the write.
   */
  async ensureWriteLock(): Promise<void> {
    if (this.locked) return;
    if (await this.lock()) {
      await this.reload();
      return;
    }
    // Held already by another holder of this process (rpm-xylem's transaction, taken before this
    // object loaded): nothing changed, and that holder keeps the lock for as long as it runs.
    await this.unlock();
  }

  /** Absolute-or-cwd-relative path of something inside the sysroot. */
  abs(rel: string): string {
    return joinPath(this.path, rel);
  }

  /** The sysroot's repository (ostree/repo), opened once. */
  async repo(): Promise<Repo> {
    if (!this.repoCache) this.repoCache = await openSysrootRepo(this.host, this.path);
    return this.repoCache;
  }

  deploymentPath(d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): string {
    return this.abs(deploymentRelPath(d));
  }

  originPath(d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): string {
    return this.abs(originRelPath(d));
  }

  /** Re-reads bootversion, subbootversion and the deployment list from disk. */
  async reload(): Promise<void> {
    this.bootversion = await this.readBootversion();
    this.subbootversion = await this.readSubbootversion(this.bootversion);
    this.deployments = await this.readDeployments();
    this.booted = await this.findBooted();
    this.runningDeployment = this.booted;
    this.staged = null;
    this.stagedState = null;
    const staged = await loadStaged(this);
    if (staged) {
      // Staged shows up first (libostree numbers it 0).
      this.staged = staged.deployment;
      this.stagedState = staged.state;
      this.deployments = [staged.deployment, ...this.deployments];
      this.deployments.forEach((d, i) => (d.index = i));
    }
  }

  /** libostree bumps ostree/deploy's mtime after each change so watchers notice it. */
  async bumpMtime(): Promise<void> {
    const now = Math.floor((this.host.now?.() ?? Date.now()) / 1000);
    await this.fs.lutimes(this.abs('ostree/deploy'), now, now).catch(() => undefined);
  }

  private async readBootversion(): Promise<number> {
    const target = await readlinkOrNull(this.fs, this.abs('boot/loader'));
    if (target === null) {
      if (await this.fs.lstat(this.abs('boot/loader'))) throw new XylemError('boot/loader is not a symbolic link');
      return 0;
    }
    if (target === 'loader.0') return 0;
    if (target === 'loader.1') return 1;
    throw new XylemError(`Invalid target '${target}' in boot/loader`);
  }

  /** Which boot.B.S the ostree/boot.B link points at (0 when missing). */
  async readSubbootversion(bootversion: number): Promise<number> {
    const target = await readlinkOrNull(this.fs, this.abs(`ostree/boot.${bootversion}`));
    if (target === null) return 0;
    if (target === `boot.${bootversion}.0`) return 0;
    if (target === `boot.${bootversion}.1`) return 1;
    throw new XylemError(`Invalid target '${target}' in ostree/boot.${bootversion}`);
  }

  /** The BLS entries of loader.B, newest (highest version) first. */
  async readBootConfigs(bootversion: number): Promise<Array<{ name: string; config: BootConfig }>> {
    const dir = this.abs(`boot/loader.${bootversion}/entries`);
    const st = await this.fs.stat(dir);
    if (!st || st.kind !== 'dir') return [];
    const names = (await this.fs.readdir(dir)).map((e) => e.name).filter((n) => n.startsWith('ostree-') && n.endsWith('.conf'));
    if (names.length > MAX_ENTRIES) throw new XylemError(`Too many boot loader entries in ${dir}`);
    const out: Array<{ name: string; config: BootConfig }> = [];
    for (const name of names) {
      const text = await readSmallText(this.fs, joinPath(dir, name));
      if (text === null) continue;
      out.push({ name, config: BootConfig.parse(text, name) });
    }
    out.sort((a, b) => {
      const va = Number(a.config.get('version') ?? '0');
      const vb = Number(b.config.get('version') ?? '0');
      if (va !== vb) return vb - va;
      return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
    });
    return out;
  }

  private async readDeployments(): Promise<Deployment[]> {
    const configs = await this.readBootConfigs(this.bootversion);
    const out: Deployment[] = [];
    for (const { name, config } of configs) {
      const options = config.get('options');
      if (options === undefined) continue;
      const ostreeArg = KernelArgs.parse(options).get('ostree');
      if (typeof ostreeArg !== 'string') continue;
      const parsed = parseOstreeKarg(ostreeArg);
      if (!parsed) throw new XylemError(`Invalid ostree= argument '${ostreeArg}' in ${name}`);
      const linkPath = this.abs(`ostree/boot.${this.bootversion}/${parsed.osname}/${parsed.bootcsum}/${parsed.bootserial}`);
      const target = await readlinkOrNull(this.fs, linkPath);
      if (target === null) throw new XylemError(`Reading boot link ${linkPath}: No such file or directory`);
      const m = /^(?:\.\.\/){3}deploy\/([^/]+)\/deploy\/([^/]+)$/.exec(target);
      const dn = m ? parseDeployDirName(m[2]!) : null;
      if (!m || !dn) throw new XylemError(`Invalid deployment link target '${target}' in ${linkPath}`);
      validateOsname(m[1]!);
      const d: Deployment = {
        index: out.length,
        osname: m[1]!,
        csum: dn.csum,
        deployserial: dn.deployserial,
        bootcsum: parsed.bootcsum,
        bootserial: parsed.bootserial,
        bootconfig: config,
        origin: null,
      };
      const overlays = overlaysOfBootconfig(config, name);
      if (overlays.length) d.overlayInitrds = overlays;
      if (!(await this.fs.stat(this.deploymentPath(d))))
        throw new XylemError(`Deployment ${deploymentRelPath(d)} referenced by ${name} does not exist`);
      d.origin = await this.readOrigin(d);
      out.push(d);
    }
    return out;
  }

  async readOrigin(d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): Promise<KeyFile | null> {
    const path = this.originPath(d);
    const text = await readSmallText(this.fs, path);
    return text === null ? null : KeyFile.parse(text, path);
  }

  /**
   * The deployment the running system booted, if this sysroot is the running one: its root
   * is "/" and / is the same directory (device and inode) as one deployment's root.
   */
  private async findBooted(): Promise<Deployment | null> {
    if (this.path !== '/') return null;
    if (!(await this.fs.stat('/run/ostree-booted'))) return null;
    const root = await this.fs.stat('/');
    if (!root) return null;
    for (const d of this.deployments) {
      const st = await this.fs.stat(this.deploymentPath(d));
      if (st && st.dev === root.dev && st.ino === root.ino) return d;
    }
    return null;
  }

  /** Stateroots present under ostree/deploy. */
  async listStateroots(): Promise<string[]> {
    const dir = this.abs('ostree/deploy');
    if (!(await this.fs.stat(dir))) return [];
    return (await this.fs.readdir(dir)).filter((e) => e.kind === 'dir').map((e) => e.name).sort();
  }

  /** Every deployment directory on disk (referenced or not) of every stateroot. */
  async listDeploymentDirs(): Promise<Array<{ osname: string; csum: string; deployserial: number }>> {
    const out: Array<{ osname: string; csum: string; deployserial: number }> = [];
    for (const osname of await this.listStateroots()) {
      const dir = this.abs(`ostree/deploy/${osname}/deploy`);
      if (!(await this.fs.stat(dir))) continue;
      for (const e of await this.fs.readdir(dir)) {
        if (e.kind !== 'dir') continue;
        const p = parseDeployDirName(e.name);
        if (p) out.push({ osname, ...p });
      }
    }
    return out;
  }

  /**
   * The deployment whose /etc a new deployment of `osname` inherits: the booted one when it is
   * of that stateroot, else the first (default) deployment of it.
   */
  mergeDeployment(osname: string | null): Deployment | null {
    const os = osname ?? this.booted?.osname ?? null;
    if (os === null) throw new XylemError('Not currently booted into an OSTree system and no --os= argument given');
    if (this.booted && this.booted.osname === os) return this.booted;
    return this.deployments.find((d) => d.osname === os) ?? null;
  }

  /** Pending = first deployment of `osname` before the booted one; rollback = first after it. */
  queryDeploymentsFor(osname: string | null): { pending: Deployment | null; rollback: Deployment | null } {
    let pending: Deployment | null = null;
    let rollback: Deployment | null = null;
    let foundBooted = false;
    for (const d of this.deployments) {
      if (deploymentsEqual(d, this.booted)) {
        foundBooted = true;
        continue;
      }
      if (osname !== null && d.osname !== osname) continue;
      if (!foundBooted && !pending) pending = d;
      else if (foundBooted && !rollback) rollback = d;
    }
    return { pending, rollback };
  }

  /** The deployment `--print-current-dir` names: the booted one, else the default. */
  currentDeployment(): Deployment | null {
    return this.booted ?? this.deployments[0] ?? null;
  }

  /** Commit metadata `version` of a deployment (null when absent or the commit is gone). */
  async deploymentVersion(d: Pick<Deployment, 'csum'>): Promise<string | null> {
    return commitStringMeta(await this.repo(), d.csum, 'version');
  }
}

/** A string entry of a commit's metadata, or null. */
export async function commitStringMeta(repo: Repo, csum: string, key: string): Promise<string | null> {
  try {
    const c = await repo.loadCommit(csum);
    for (const [k, v] of c.metadata) if (k === key && v.type === 's') return v.value as string;
  } catch {
    return null;
  }
  return null;
}
