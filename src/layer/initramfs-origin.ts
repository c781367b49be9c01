// The client-side initramfs request an origin file records, with the keys rpm-ostree uses
// (rpmostree-origin.cxx / rust/src/origin.rs; reference note rpm-ostree.md §3.1):
//   [rpmostree] regenerate-initramfs=true   initramfs-args=-I;/etc/foo.conf;   initramfs-etc=/etc/crypttab;
// `initramfs --enable [--arg=…] | --disable` and `initramfs-etc --track/--untrack/--untrack-all`
// change it; the args keep their order (they are dracut's command line), the tracked /etc files
// are a sorted set. Status prints `Initramfs: regenerate` (or the args) and `InitramfsEtc:`.

import type { KeyFile } from '../format/keyfile.ts';
import { XylemError } from '../util/errors.ts';

export interface InitramfsRequest {
  /** `[rpmostree] regenerate-initramfs`: run the deployment's dracut client-side. */
  regenerate: boolean;
  /** `[rpmostree] initramfs-args`: extra dracut arguments, in order. */
  args: string[];
  /** `[rpmostree] initramfs-etc`: /etc files injected into the initramfs. */
  etc: string[];
}

export interface InitramfsChange {
  enable?: boolean;
  disable?: boolean;
  /** `--arg=…` (only with enable). */
  args?: readonly string[];
  track?: readonly string[];
  untrack?: readonly string[];
  untrackAll?: boolean;
}

const GROUP = 'rpmostree';
const MAX_ENTRIES = 1024;
const MAX_ENTRY = 4096;

export function emptyInitramfsRequest(): InitramfsRequest {
  return { regenerate: false, args: [], etc: [] };
}

/** Whether the request needs a locally assembled deployment (dracut run or /etc files injected). */
export function needsInitramfs(r: InitramfsRequest): boolean {
  return r.regenerate || r.etc.length > 0;
}

function checkEntries(values: readonly string[], what: string, key: string): void {
  if (values.length > MAX_ENTRIES) throw new XylemError(`${what}: ${key} holds more than ${MAX_ENTRIES} entries`, 'EORIGIN');
  for (const v of values) if (typeof v !== 'string' || v.length > MAX_ENTRY || /[\n\0]/.test(v)) throw new XylemError(`${what}: ${key}: invalid entry`, 'EORIGIN');
}

/** Normalises a tracked /etc path; refuses what is not a plain absolute path under /etc. */
export function normalizeEtcPath(path: string, what = 'initramfs-etc'): string {
  if (typeof path !== 'string' || path === '' || path.length > MAX_ENTRY || /[\n\0]/.test(path)) throw new XylemError(`${what}: invalid path ${JSON.stringify(path)}`, 'EINVAL');
  if (!path.startsWith('/')) throw new XylemError(`${what}: path must be absolute: ${path}`, 'EINVAL');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new XylemError(`${what}: path must not contain '..': ${path}`, 'EINVAL');
  if (parts[0] !== 'etc' || parts.length < 2) throw new XylemError(`${what}: path must be under /etc: ${path}`, 'EINVAL');
  return `/${parts.join('/')}`;
}

/** Reads the request from an origin keyfile (`what` names it in errors). */
export function readInitramfsRequest(origin: KeyFile | null, what = 'origin'): InitramfsRequest {
  if (!origin) return emptyInitramfsRequest();
  let regenerate = false;
  let args: string[] = [];
  let etc: string[] = [];
  try {
    const raw = origin.get(GROUP, 'regenerate-initramfs');
    if (raw !== undefined) {
      if (raw !== 'true' && raw !== 'false') throw new Error(`regenerate-initramfs must be true or false, not ${JSON.stringify(raw.slice(0, 40))}`);
      regenerate = raw === 'true';
    }
    args = (origin.getStringList(GROUP, 'initramfs-args') ?? []).filter((x) => x !== '');
    etc = (origin.getStringList(GROUP, 'initramfs-etc') ?? []).filter((x) => x !== '');
  } catch (e) {
    throw new XylemError(`${what}: [${GROUP}] ${(e as Error).message}`, 'EORIGIN');
  }
  checkEntries(args, what, `[${GROUP}] initramfs-args`);
  checkEntries(etc, what, `[${GROUP}] initramfs-etc`);
  return { regenerate, args: regenerate ? args : [], etc: [...new Set(etc.map((p) => normalizeEtcPath(p, `${what}: [${GROUP}] initramfs-etc`)))].sort() };
}

/** Writes `r` into `origin` (in place); keys with nothing to say are removed, then an empty group. */
export function writeInitramfsRequest(origin: KeyFile, r: InitramfsRequest): void {
  if (!origin || typeof origin.set !== 'function') throw new TypeError('writeInitramfsRequest: an origin KeyFile is required');
  checkEntries(r.args, 'writeInitramfsRequest', 'args');
  checkEntries(r.etc, 'writeInitramfsRequest', 'etc');
  if (r.regenerate) origin.set(GROUP, 'regenerate-initramfs', 'true');
  else origin.remove(GROUP, 'regenerate-initramfs');
  if (r.regenerate && r.args.length > 0) origin.setStringList(GROUP, 'initramfs-args', [...r.args]);
  else origin.remove(GROUP, 'initramfs-args');
  const etc = [...new Set(r.etc)].sort();
  if (etc.length > 0) origin.setStringList(GROUP, 'initramfs-etc', etc);
  else origin.remove(GROUP, 'initramfs-etc');
  if (origin.hasGroup(GROUP) && origin.keys(GROUP).length === 0) origin.removeGroup(GROUP);
}

/** The request after `change`, or a refusal (conflicting options, nothing to do). */
export function applyInitramfsChange(cur: InitramfsRequest, change: InitramfsChange): InitramfsRequest {
  const next: InitramfsRequest = { regenerate: cur.regenerate, args: [...cur.args], etc: [...cur.etc] };
  if (change.enable && change.disable) throw new XylemError('Cannot specify both --enable and --disable', 'EINVAL');
  if (change.args && change.args.length > 0 && !change.enable) throw new XylemError('Cannot use --arg without --enable', 'EINVAL');
  if (change.args) checkEntries(change.args, 'initramfs', '--arg');
  if (change.enable) {
    const args = [...(change.args ?? [])];
    if (cur.regenerate && args.join('\0') === cur.args.join('\0')) throw new XylemError('Initramfs regeneration is already enabled with these arguments', 'EALREADY');
    next.regenerate = true;
    next.args = args;
  } else if (change.disable) {
    if (!cur.regenerate) throw new XylemError('Initramfs regeneration is not enabled', 'ENOTREQUESTED');
    next.regenerate = false;
    next.args = [];
  }
  const set = new Set(next.etc);
  if (change.untrackAll) set.clear();
  for (const p of change.untrack ?? []) set.delete(normalizeEtcPath(p));
  for (const p of change.track ?? []) set.add(normalizeEtcPath(p));
  next.etc = [...set].sort();
  return next;
}
