// Staged deployments (libostree's stage_tree / finalize-staged): everything of a new deployment
// is written now except the boot swap, and the deployment is remembered in the run directory
// (/run/ostree/staged-deployment: a GVariant a{sv} with `target` and `merge-deployment` as
// a{sv} {name: 'CSUM.SERIAL', osname, bootcsum} and the override `kargs` as an `as`) — the same
// file libostree writes and reads, so either tool finalizes what the other staged. At shutdown
// `finalize-staged` takes the /etc merge and publishes the boot set; a failure is recorded in
// boot/ostree/finalize-failure.stamp for the next boot (`admin boot-complete`, `admin status`).

import { encode, decode, type GVValue, type GVVariant } from '../format/gvariant.ts';
import type { KeyFile } from '../format/keyfile.ts';
import { joinPath } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { fromUtf8 } from '../util/bytes.ts';
import { BootConfig } from './bootconfig.ts';
import { type Deployment, deploymentsEqual, parseDeployDirName, validateOsname } from './deployment.ts';
import { discardFailedDeployment, initializeDeployment, finalizeDeployment } from './deploy.ts';
import { ensureDir, writeFileAtomic, writeTextAtomic } from './fsutil.ts';
import { simpleWriteDeployment } from './write.ts';
import { cleanupSysroot } from './cleanup.ts';
import { removeDeploymentFiles } from './seal.ts';
import { validateOverlayInitrds } from './overlay-initrd.ts';
import type { Sysroot } from './sysroot.ts';

/** File names in the run directory and /boot, as libostree's. */
export const STAGED_FILE = 'staged-deployment';
export const STAGED_LOCKED_FILE = 'staged-deployment-locked';
export const FINALIZE_FAILURE_STAMP = 'ostree/finalize-failure.stamp';

/** A staged-deployment file larger than this is not one. */
const MAX_STAGED_FILE = 1 << 20;
const MAX_KARGS = 4096;

/** What the staged-deployment file names (libostree's serialize_deployment_to_variant). */
export interface DeploymentStub {
  osname: string;
  csum: string;
  deployserial: number;
  bootcsum: string;
}

export interface StagedState {
  target: DeploymentStub;
  merge: DeploymentStub | null;
  /** Kernel arguments chosen when staging; null: the merge deployment's at finalization. */
  kargs: string[] | null;
  overlayInitrds: string[] | null;
}

function stubVariant(d: DeploymentStub): GVVariant {
  return {
    type: 'a{sv}',
    value: [
      ['name', { type: 's', value: `${d.csum}.${d.deployserial}` }],
      ['osname', { type: 's', value: d.osname }],
      ['bootcsum', { type: 's', value: d.bootcsum }],
    ],
  };
}

/** The staged-deployment file's bytes (entries in libostree's order). */
export function encodeStagedState(state: StagedState): Uint8Array {
  const entries: GVValue[] = [['target', stubVariant(state.target)]];
  if (state.merge) entries.push(['merge-deployment', stubVariant(state.merge)]);
  if (state.kargs) entries.push(['kargs', { type: 'as', value: state.kargs }]);
  if (state.overlayInitrds) entries.push(['overlay-initrds', { type: 'as', value: state.overlayInitrds }]);
  return encode('a{sv}', entries);
}

function dictOf(v: GVValue, what: string): Map<string, GVVariant> {
  const m = new Map<string, GVVariant>();
  for (const e of v as GVValue[]) {
    const [k, val] = e as [string, GVVariant];
    if (m.has(k)) throw new XylemError(`${what}: duplicate key '${k}'`);
    m.set(k, val);
  }
  return m;
}

function strOf(m: Map<string, GVVariant>, key: string, what: string): string {
  const v = m.get(key);
  if (!v) throw new XylemError(`${what}: Missing key: ${key}`);
  if (v.type !== 's') throw new XylemError(`${what}: key ${key} has type '${v.type}', expected 's'`);
  return v.value as string;
}

function stubOf(v: GVVariant, what: string): DeploymentStub {
  if (v.type !== 'a{sv}') throw new XylemError(`${what}: expected a{sv}, got '${v.type}'`);
  const m = dictOf(v.value, what);
  const name = strOf(m, 'name', what);
  const parsed = parseDeployDirName(name);
  if (!parsed) throw new XylemError(`${what}: Invalid deployment name '${name}'`);
  const osname = strOf(m, 'osname', what);
  validateOsname(osname);
  const bootcsum = strOf(m, 'bootcsum', what);
  if (!/^[0-9a-f]{64}$/.test(bootcsum)) throw new XylemError(`${what}: Invalid bootcsum '${bootcsum}'`);
  return { osname, ...parsed, bootcsum };
}

function strvOf(m: Map<string, GVVariant>, key: string, what: string): string[] | null {
  const v = m.get(key);
  if (!v) return null;
  if (v.type !== 'as') throw new XylemError(`${what}: key ${key} has type '${v.type}', expected 'as'`);
  const a = v.value as string[];
  if (a.length > MAX_KARGS) throw new XylemError(`${what}: too many entries in ${key}`);
  return a;
}

/** Parses a staged-deployment file (hostile input: every field checked). Null: no target. */
export function decodeStagedState(data: Uint8Array, path: string): StagedState | null {
  if (data.length > MAX_STAGED_FILE) throw new XylemError(`${path}: too large (${data.length} bytes)`);
  let top: Map<string, GVVariant>;
  try {
    top = dictOf(decode('a{sv}', data, { context: path }), path);
  } catch (e) {
    throw new XylemError(`${path}: not a staged deployment: ${(e as Error).message}`);
  }
  const target = top.get('target');
  if (!target) return null;
  const merge = top.get('merge-deployment');
  return {
    target: stubOf(target, `${path}: target`),
    merge: merge ? stubOf(merge, `${path}: merge-deployment`) : null,
    kargs: strvOf(top, 'kargs', path),
    overlayInitrds: strvOf(top, 'overlay-initrds', path),
  };
}

/** Where the staged state lives for this sysroot. */
export function stagedPath(sysroot: Sysroot): string {
  return joinPath(sysroot.runDir, STAGED_FILE);
}

export function stagedLockedPath(sysroot: Sysroot): string {
  return joinPath(sysroot.runDir, STAGED_LOCKED_FILE);
}

/**
 * Reads the staged deployment of a booted sysroot (libostree reads it only when booted); null
 * when there is none.
 */
export async function loadStaged(sysroot: Sysroot): Promise<{ deployment: Deployment; state: StagedState } | null> {
  if (!sysroot.booted) return null;
  const path = stagedPath(sysroot);
  const st = await sysroot.fs.lstat(path);
  if (!st) return null;
  if (st.kind !== 'file') throw new XylemError(`Loading staged deployment: ${path}: not a regular file`);
  if (st.size > MAX_STAGED_FILE) throw new XylemError(`Loading staged deployment: ${path}: too large`);
  const state = decodeStagedState(await sysroot.fs.readFile(path), path);
  if (!state) return null;
  const bootconfig = new BootConfig();
  if (state.kargs) bootconfig.set('options', state.kargs.join(' '));
  const d: Deployment = {
    index: 0,
    osname: state.target.osname,
    csum: state.target.csum,
    deployserial: state.target.deployserial,
    bootcsum: state.target.bootcsum,
    bootserial: -1,
    bootconfig,
    origin: null,
    staged: true,
  };
  if (state.overlayInitrds && state.overlayInitrds.length) {
    validateOverlayInitrds(state.overlayInitrds, `${path}: overlay-initrds`);
    d.overlayInitrds = [...state.overlayInitrds];
  }
  if (!(await sysroot.fs.stat(sysroot.deploymentPath(d))))
    throw new XylemError(`Loading staged deployment: ${sysroot.deploymentPath(d)}: No such file or directory`);
  d.origin = await sysroot.readOrigin(d);
  return { deployment: d, state };
}

export interface StageTreeOptions {
  osname: string;
  revision: string;
  origin: KeyFile | null;
  mergeDeployment: Deployment | null;
  overrideKargs?: string[] | null;
  /** Checksums of staged overlay initrds (recorded in the state file as `overlay-initrds`). */
  overlayInitrds?: string[] | null;
  /** Create the staged-deployment-locked file first: finalize-staged will then do nothing. */
  lockFinalization?: boolean;
  out?: (line: string) => void;
}

/**
 * Stages a deployment (libostree's stage_tree): it is written completely except the /etc merge
 * and the boot set; the staged-deployment file is replaced atomically, then any previously
 * staged deployment is deleted.
 */
export async function stageTree(sysroot: Sysroot, opts: StageTreeOptions): Promise<Deployment> {
  await sysroot.ensureWriteLock();
  if (!sysroot.booted) throw new XylemError('Cannot stage deployment: Not currently booted into an OSTree system');
  const fs = sysroot.fs;
  if (opts.lockFinalization) {
    await ensureDir(fs, sysroot.runDir);
    await writeTextAtomic(fs, stagedLockedPath(sysroot), '', 0o640, false);
  }
  const d = await initializeDeployment(sysroot, opts);
  const m = opts.mergeDeployment;
  const state: StagedState = {
    target: d,
    merge: m ? { osname: m.osname, csum: m.csum, deployserial: m.deployserial, bootcsum: m.bootcsum } : null,
    kargs: opts.overrideKargs ?? null,
    overlayInitrds: opts.overlayInitrds && opts.overlayInitrds.length ? [...opts.overlayInitrds] : null,
  };
  try {
    await ensureDir(fs, sysroot.runDir);
    // The deployment folder is complete (and its writes durable) before the state names it.
    await fs.syncfs?.(sysroot.deploymentPath(d));
    await writeFileAtomic(fs, stagedPath(sysroot), encodeStagedState(state), { mode: 0o644, fsync: true });
  } catch (e) {
    // The state file was not replaced: nothing names the new folder.
    await discardFailedDeployment(sysroot, d);
    throw e;
  }
  const previous = sysroot.staged;
  if (previous && !deploymentsEqual(previous, d)) {
    await removeDeploymentFiles(sysroot, previous);
  }
  await sysroot.bumpMtime();
  await sysroot.reload();
  await cleanupSysroot(sysroot, { prune: false });
  return sysroot.staged ?? d;
}

/** The stamp written when finalization fails, read (and removed) at the next boot. */
export async function readFinalizeFailure(sysroot: Sysroot): Promise<string | null> {
  const p = sysroot.abs(`boot/${FINALIZE_FAILURE_STAMP}`);
  const st = await sysroot.fs.lstat(p);
  if (!st || st.kind !== 'file') return null;
  if (st.size > MAX_STAGED_FILE) return `(unreadable: ${st.size} bytes)`;
  return fromUtf8(await sysroot.fs.readFile(p));
}

export interface FinalizeResult {
  /** What happened: finalized, nothing staged, or locked. */
  outcome: 'finalized' | 'none' | 'locked';
  deployment: Deployment | null;
}

async function finalizeInner(sysroot: Sysroot, out: (line: string) => void): Promise<FinalizeResult> {
  const fs = sysroot.fs;
  const staged = sysroot.staged;
  const state = sysroot.stagedState;
  if (!staged || !state) {
    out('No deployment staged for finalization');
    return { outcome: 'none', deployment: null };
  }
  if (await fs.lstat(stagedLockedPath(sysroot))) {
    out(`Not finalizing; found ${stagedLockedPath(sysroot)}`);
    return { outcome: 'locked', deployment: null };
  }
  let merge: Deployment | null = null;
  if (state.merge) {
    merge = sysroot.deployments.find((d) => !d.staged && deploymentsEqual(d, state.merge as Deployment)) ?? null;
    if (!merge) throw new XylemError(`Failed to find merge deployment ${state.merge.csum}.${state.merge.deployserial} for staged`);
  }
  // The state goes first: an interrupted finalization leaves an unreferenced folder for
  // cleanup, never a half-merged /etc that a later run would publish.
  await fs.unlink(stagedPath(sysroot));
  await finalizeDeployment(sysroot, staged, merge, out);
  staged.staged = false;
  sysroot.deployments = sysroot.deployments.filter((d) => d !== staged);
  sysroot.deployments.forEach((d, i) => (d.index = i));
  sysroot.staged = null;
  sysroot.stagedState = null;
  await simpleWriteDeployment(sysroot, staged.osname, staged, merge, { noClean: true, out });
  await cleanupSysroot(sysroot, { prune: false });
  return { outcome: 'finalized', deployment: staged };
}

/**
 * `admin finalize-staged` (ostree-finalize-staged.service at shutdown). A failure is written to
 * boot/ostree/finalize-failure.stamp and rethrown; a success removes an earlier stamp.
 */
export async function finalizeStaged(sysroot: Sysroot, out: (line: string) => void = () => undefined): Promise<FinalizeResult> {
  await sysroot.ensureWriteLock();
  const stamp = sysroot.abs(`boot/${FINALIZE_FAILURE_STAMP}`);
  try {
    const r = await finalizeInner(sysroot, out);
    await sysroot.fs.rmrf(stamp);
    return r;
  } catch (e) {
    const msg = (e as Error).message;
    try {
      await ensureDir(sysroot.fs, sysroot.abs('boot/ostree'));
      await writeTextAtomic(sysroot.fs, stamp, msg);
    } catch (w) {
      out(`Failed to write ${FINALIZE_FAILURE_STAMP}: ${(w as Error).message}`);
    }
    throw e;
  }
}

/**
 * `admin boot-complete` (ostree-boot-complete.service): reports and removes the stamp a failed
 * finalization left.
 */
export async function bootComplete(sysroot: Sysroot): Promise<void> {
  await sysroot.ensureWriteLock();
  const failure = await readFinalizeFailure(sysroot);
  if (failure === null) return;
  await sysroot.fs.unlink(sysroot.abs(`boot/${FINALIZE_FAILURE_STAMP}`)).catch((e) => {
    if (errnoCode(e) !== 'ENOENT') throw e;
  });
  throw new XylemError(`ostree-finalize-staged.service failed on previous boot: ${failure}`);
}
