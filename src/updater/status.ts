// `rpm-xylem status`: the deployment model (the fields of rpm-ostree's status JSON that an
// ostree-only host has) and its two renderings — rpm-ostree's text layout (State line, optional
// Transaction block, "Deployments:", "●" for the booted one, keys right-aligned to 23 columns)
// and the pretty-printed JSON document ({"deployments", "transaction", "cached-update",
// "update-driver"}). Package-layering fields are present and empty: nothing is layered here.

import type { GVValue, GVVariant } from '../format/gvariant.ts';
import type { Repo } from '../repo/repo.ts';
import { resolveRev } from '../repo/refs.ts';
import { parseRefspec } from '../repo/refs.ts';
import { remoteBooleanOption } from '../remote/config.ts';
import type { Deployment } from '../sysroot/deployment.ts';
import { deploymentsEqual, isPinned } from '../sysroot/deployment.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import type { TransactionState } from './transaction-state.ts';
import { deploymentUnlockedState } from '../sysroot/unlock.ts';
import { readLiveState } from '../layer/live-state.ts';
import { dbDiff } from '../compose/db.ts';
import { diffSummary } from '../layer/live.ts';
import { emptyInitramfsRequest, readInitramfsRequest, type InitramfsRequest } from '../layer/initramfs-origin.ts';

/** rpm-ostree pads keys to the longest one it may print ("InactiveRemoteOverrides"). */
export const KEY_WIDTH = 23;
/** Commit metadata keys too bulky for status (as rpm-ostree drops them). */
const BULKY_META = new Set(['rpmostree.rpmdb.pkglist', 'rpmostree.advisories']);

export interface SignatureStatus {
  valid: boolean;
  'key-missing': boolean;
  fingerprint: string;
  timestamp: number;
}

export interface DeploymentStatus {
  id: string;
  osname: string;
  serial: number;
  checksum: string;
  booted: boolean;
  staged: boolean;
  pinned: boolean;
  unlocked: string;
  /** The origin refspec (REMOTE:REF, REF, or a pinned checksum); absent without origin. */
  origin?: string;
  version?: string;
  timestamp: number;
  'base-commit-meta': Record<string, unknown>;
  'gpg-enabled': boolean;
  signatures?: SignatureStatus[];
  /** The origin ref points at a newer commit than this deployment (e.g. after --download-only). */
  'pending-base-checksum'?: string;
  'pending-base-timestamp'?: number;
  'pending-base-version'?: string;
  'requested-packages': string[];
  'requested-local-packages': string[];
  'requested-local-fileoverride-packages': string[];
  'requested-base-removals': string[];
  'requested-base-local-replacements': string[];
  'requested-base-remote-replacements': unknown[];
  packages: string[];
  'base-removals': unknown[];
  'base-local-replacements': unknown[];
  'base-remote-replacements': Record<string, unknown>;
  /** A client-layered deployment's base commit (the parent of its commit). */
  'base-checksum'?: string;
  'regenerate-initramfs': boolean;
  /** `[rpmostree] initramfs-args` (dracut arguments, in order) when regenerating. */
  'initramfs-args'?: string[];
  /** `[rpmostree] initramfs-etc`: /etc files injected into the initramfs. */
  'initramfs-etc'?: string[];
  /** The origin's override-commit (set by `deploy`). */
  'override-commit'?: string;
  endoflife?: string;
  /** apply-live: the commit an interrupted live apply was copying in. */
  'live-inprogress'?: string;
  /** apply-live: the commit the running /usr shows. */
  'live-replaced'?: string;
  /** Not in the JSON: the commit's ostree.source-title. */
  sourceTitle?: string | null;
  /** Not in the JSON: the package diff booted → live commit, summarized (LiveDiff:). */
  liveDiff?: string;
}

export interface StatusModel {
  deployments: DeploymentStatus[];
  /** [title, initiator, id] as rpm-ostree's (method, sender, object path) triple; null when idle. */
  transaction: [string, string, string] | null;
  'cached-update': null;
  'update-driver': null;
}

/** GVariant value → JSON (u64/i64 become numbers when exact, else strings; a{s*} become objects). */
export function gvariantToJson(type: string, value: GVValue): unknown {
  if (value === null) return null;
  if (type === 'v' && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    const v = value as GVVariant;
    return gvariantToJson(v.type, v.value);
  }
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) {
    if (type.startsWith('a{') && type.length >= 5) {
      const vt = type.slice(3, -1);
      const out: Record<string, unknown> = {};
      for (const e of value) {
        const [k, v] = e as [GVValue, GVValue];
        out[String(k)] = gvariantToJson(vt, v);
      }
      return out;
    }
    const et = type.startsWith('a') ? type.slice(1) : '';
    return value.map((x) => gvariantToJson(et, x));
  }
  if (typeof value === 'object') {
    const v = value as GVVariant;
    return gvariantToJson(v.type, v.value);
  }
  return value;
}

function isoTime(ts: number): string {
  if (!Number.isFinite(ts) || ts < 0 || ts > 253402300799) return '(invalid timestamp)';
  return new Date(ts * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function signaturesFor(repo: Repo, csum: string, remote: string): Promise<SignatureStatus[]> {
  const { verifyCommitGpg } = await import('../sign/repo-sign.ts');
  try {
    const r = await verifyCommitGpg(repo, csum, { remote });
    return r.signatures.map((s) => ({ valid: s.valid, 'key-missing': s.keyMissing, fingerprint: s.fingerprint, timestamp: s.timestamp }));
  } catch {
    // No signatures (or none readable): shown as "(unsigned)".
    return [];
  }
}

/** A `;`-list of the origin, sorted (rpm-ostree canonicalises them). */
function originList(d: Deployment, group: string, key: string): string[] {
  try {
    return [...(d.origin?.getStringList(group, key) ?? [])].filter((x) => x !== '').sort();
  } catch {
    return [];
  }
}

/** The origin's initramfs request; an unreadable one shows as none (status must not fail on it). */
function initramfsOf(d: Deployment): InitramfsRequest {
  try {
    return readInitramfsRequest(d.origin ?? null);
  } catch {
    return emptyInitramfsRequest();
  }
}

/** The status of one deployment (reads its commit and, for gpg-verified remotes, its signatures). */
export async function deploymentStatus(sysroot: Sysroot, d: Deployment): Promise<DeploymentStatus> {
  const repo = await sysroot.repo();
  let meta: Record<string, unknown> = {};
  let timestamp = 0;
  let version: string | undefined;
  let sourceTitle: string | null = null;
  let endoflife: string | undefined;
  // A client layer (rpmostree.clientlayer): its layering facts, and the base's metadata shown.
  let layer: { base: string; removals: unknown[]; replacements: unknown[] } | null = null;
  try {
    let c = await repo.loadCommit(d.csum);
    const cl = c.metadata.find(([k]) => k === 'rpmostree.clientlayer');
    if (cl && cl[1].value === true && c.parent) {
      const get = (k: string) => c.metadata.find(([x]) => x === k)?.[1];
      const rm = get('rpmostree.removed-base-packages');
      const rp = get('rpmostree.replaced-base-packages');
      layer = {
        base: c.parent,
        removals: rm ? (gvariantToJson(rm.type, rm.value) as unknown[]) : [],
        replacements: rp ? (gvariantToJson(rp.type, rp.value) as unknown[]) : [],
      };
      timestamp = Number(c.timestamp);
      c = await repo.loadCommit(c.parent);
    } else timestamp = Number(c.timestamp);
    for (const [k, v] of c.metadata) {
      if (BULKY_META.has(k)) continue;
      meta[k] = gvariantToJson(v.type, v.value);
      if (k === 'version' && v.type === 's') version = v.value as string;
      if (k === 'ostree.source-title' && v.type === 's') sourceTitle = v.value as string;
      if (k === 'ostree.endoflife' && v.type === 's') endoflife = v.value as string;
    }
  } catch {
    meta = {};
  }
  const origin = d.origin?.get('origin', 'refspec') ?? d.origin?.get('origin', 'baserefspec') ?? undefined;
  let gpgEnabled = false;
  let remote: string | null = null;
  if (origin !== undefined && !/^[0-9a-f]{64}$/.test(origin)) {
    try {
      remote = parseRefspec(origin).remote;
    } catch {
      remote = null;
    }
    if (remote !== null) gpgEnabled = await remoteBooleanOption(repo, remote, 'gpg-verify', true).catch(() => false);
  }
  const initramfs = initramfsOf(d);
  const st: DeploymentStatus = {
    id: `${d.osname}-${d.csum}.${d.deployserial}`,
    osname: d.osname,
    serial: d.deployserial,
    checksum: d.csum,
    booted: deploymentsEqual(d, sysroot.booted),
    staged: (d as { staged?: boolean }).staged === true,
    pinned: isPinned(d),
    unlocked: await deploymentUnlockedState(sysroot, d),
    timestamp,
    'base-commit-meta': meta,
    'gpg-enabled': gpgEnabled,
    'requested-packages': originList(d, 'packages', 'requested'),
    'requested-local-packages': originList(d, 'packages', 'requested-local').map((e) => e.slice(65)),
    'requested-local-fileoverride-packages': [],
    'requested-base-removals': originList(d, 'overrides', 'remove'),
    'requested-base-local-replacements': originList(d, 'overrides', 'replace-local').map((e) => e.slice(65)),
    'requested-base-remote-replacements': [],
    packages: layer ? originList(d, 'packages', 'requested') : [],
    'base-removals': layer?.removals ?? [],
    'base-local-replacements': layer?.replacements ?? [],
    'base-remote-replacements': {},
    'regenerate-initramfs': initramfs.regenerate,
    'initramfs-args': initramfs.args,
    'initramfs-etc': initramfs.etc,
    sourceTitle,
  };
  if (origin !== undefined) st.origin = origin;
  if (layer) st['base-checksum'] = layer.base;
  if (version !== undefined) st.version = version;
  if (endoflife !== undefined) st.endoflife = endoflife;
  const override = d.origin?.get('origin', 'override-commit');
  if (override) st['override-commit'] = override;
  const live = await readLiveState(sysroot, repo, d).catch(() => null);
  if (live?.inprogress) st['live-inprogress'] = live.inprogress;
  if (live?.commit) {
    st['live-replaced'] = live.commit;
    // rpm-ostree skips the diff when the live commit is gone from the repo.
    const diff = await dbDiff(repo, d.csum, live.commit).catch(() => null);
    if (diff) st.liveDiff = diffSummary(diff.diff);
  }
  if (gpgEnabled && remote !== null) st.signatures = await signaturesFor(repo, d.csum, remote);
  // The origin's ref moved ahead of this deployment (a downloaded but not deployed update).
  if (origin !== undefined && !override && !/^[0-9a-f]{64}$/.test(origin)) {
    const tip = await resolveRev(repo, origin, true).catch(() => null);
    if (tip && tip !== d.csum) {
      try {
        const c = await repo.loadCommit(tip);
        st['pending-base-checksum'] = tip;
        st['pending-base-timestamp'] = Number(c.timestamp);
        const v = c.metadata.find(([k, x]) => k === 'version' && x.type === 's');
        if (v) st['pending-base-version'] = v[1].value as string;
      } catch {
        // the ref names a commit we do not have: nothing pending to show
      }
    }
  }
  return st;
}

/** The whole status document. `transaction` is the live transaction record, if any. */
export async function statusModel(sysroot: Sysroot, transaction: TransactionState | null): Promise<StatusModel> {
  const deployments: DeploymentStatus[] = [];
  for (const d of sysroot.deployments) deployments.push(await deploymentStatus(sysroot, d));
  return {
    deployments,
    transaction: transaction ? [transaction.title, `rpm-xylem (pid ${transaction.pid})`, transaction.id] : null,
    'cached-update': null,
    'update-driver': null,
  };
}

/** rpm-ostree's JSON (pretty-printed, 4-space indent as json-glib), without internal fields. */
export function renderStatusJson(model: StatusModel): string {
  const strip = (d: DeploymentStatus) => {
    const { sourceTitle: _t, liveDiff: _l, ...rest } = d;
    return rest;
  };
  return `${JSON.stringify({ ...model, deployments: model.deployments.map(strip) }, null, 4)}\n`;
}

export interface RenderOptions {
  verbose?: boolean;
  /** Only the booted deployment (`-b`). */
  bootedOnly?: boolean;
  /** Transaction record for the busy header (phase and progress are shown with it). */
  transaction?: TransactionState | null;
}

/** One "  KEY: VALUE" line, the key right-aligned to `width`. */
export function kv(key: string, value: string, width = KEY_WIDTH): string {
  return `  ${key.padStart(width)}${key === '' ? ' ' : ':'} ${value}\n`;
}

/** The GPGSignature line(s) for a set of verified signatures (rpm-ostree's wording). */
export function gpgLines(d: Pick<DeploymentStatus, 'signatures'>, verbose: boolean, width = KEY_WIDTH): string {
  const sigs = d.signatures ?? [];
  if (sigs.length === 0) return kv('GPGSignature', '(unsigned)', width);
  const describe = (s: SignatureStatus) =>
    s['key-missing'] ? `Can't check signature: public key ${s.fingerprint} not found` : `${s.valid ? 'Valid' : 'Invalid'} signature by ${s.fingerprint}`;
  const pad = ' '.repeat(width + 4);
  if (verbose) {
    let s = kv('GPGSignature', `${sigs.length} signature${sigs.length === 1 ? '' : 's'}`, width);
    for (const x of sigs) s += `${pad}${describe(x)}\n`;
    return s;
  }
  return kv('GPGSignature', sigs.map(describe).join(`\n${pad}`), width);
}

/** `name evr` of a NEVRA tuple (sstsss) as JSON. */
function tupleEvr(t: unknown): string {
  const a = Array.isArray(t) ? t : [];
  const epoch = Number(a[2] ?? 0);
  return `${a[1]} ${epoch ? `${epoch}:` : ''}${a[3]}-${a[4]}`;
}

/** A layered deployment's RemovedBasePackages / ReplacedBasePackages / LayeredPackages / LocalPackages lines. */
function layerLines(d: DeploymentStatus): string {
  let s = '';
  const sorted = (l: string[]) => [...l].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()));
  if (d['base-removals'].length) s += kv('RemovedBasePackages', d['base-removals'].map(tupleEvr).sort().join(', '));
  if (d['base-local-replacements'].length)
    s += kv(
      'ReplacedBasePackages',
      d['base-local-replacements']
        .map((pair) => {
          const [n, o] = pair as [unknown[], unknown[]];
          return `${o[1]} ${tupleEvr(o).split(' ')[1]} -> ${tupleEvr(n).split(' ')[1]}`;
        })
        .join(', '),
    );
  if (d.packages.length) s += kv('LayeredPackages', sorted(d.packages).join(' '));
  if (d['requested-local-packages'].length) s += kv('LocalPackages', sorted(d['requested-local-packages']).join(' '));
  return s;
}

/** rpm-ostree's maybe_shell_quote: as-is when only [[:alnum:]-._/=:], else GLib's single quoting. */
export function maybeShellQuote(a: string): string {
  return /^[A-Za-z0-9\-._/=:]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}

/** `Initramfs: regenerate` (or the dracut args) and `InitramfsEtc:`, as rpm-ostree prints them. */
function initramfsLines(d: DeploymentStatus): string {
  let s = '';
  // Each argument shell-quoted when needed and followed by a space, as rpm-ostree prints them.
  if (d['regenerate-initramfs']) s += kv('Initramfs', d['initramfs-args']?.length ? d['initramfs-args'].map((a) => `${maybeShellQuote(a)} `).join('') : 'regenerate');
  if (d['initramfs-etc']?.length) s += kv('InitramfsEtc', d['initramfs-etc'].join(' '));
  return s;
}

/** The text rpm-ostree's `status` prints (see the file header). */
export function renderStatusText(model: StatusModel, opts: RenderOptions = {}): string {
  const verbose = !!opts.verbose;
  const txn = opts.transaction ?? null;
  let s = `State: ${model.transaction ? 'busy' : 'idle'}\n`;
  if (verbose) s += 'AutomaticUpdates: disabled\n';
  if (model.transaction) {
    s += `Transaction: ${model.transaction[0]}\n`;
    s += `  Initiator: ${model.transaction[1]}\n`;
    if (txn) s += `  Progress: ${txn.phase}${txn.progress ? `; ${txn.progress}` : ''}\n`;
  }
  s += opts.bootedOnly ? 'BootedDeployment:\n' : 'Deployments:\n';
  const multipleStateroots = new Set(model.deployments.map((d) => d.osname)).size > 1;
  const anyLive = model.deployments.some((d) => d['live-inprogress'] !== undefined || d['live-replaced'] !== undefined);
  let first = true;
  model.deployments.forEach((d, index) => {
    if (opts.bootedOnly && !d.booted) return;
    if (!first && !opts.bootedOnly) s += '\n';
    first = false;
    const isChecksumOrigin = d.origin !== undefined && /^[0-9a-f]{64}$/.test(d.origin);
    s += `${d.booted ? '●' : ' '} ${d.origin ?? d.checksum}${verbose ? ` (index: ${index})` : ''}\n`;
    if (d.sourceTitle) s += `  └─ ${d.sourceTitle}\n`;
    const ts = isoTime(d.timestamp);
    s += d.version !== undefined ? kv('Version', `${d.version} (${ts})`) : kv('Timestamp', ts);
    const haveLive = d['live-inprogress'] !== undefined || d['live-replaced'] !== undefined;
    if (d['base-checksum']) {
      s += kv(haveLive ? 'BootedBaseCommit' : 'BaseCommit', d['base-checksum']);
      if (verbose || anyLive) s += kv('Commit', d.checksum);
    } else if (verbose || !isChecksumOrigin) s += kv(haveLive ? 'BootedCommit' : 'Commit', d.checksum);
    if (d['live-inprogress']) s += kv('InterruptedLiveCommit', d['live-inprogress']);
    if (d['live-replaced']) {
      s += kv('LiveCommit', d['live-replaced']);
      if (d.liveDiff) s += kv('LiveDiff', d.liveDiff);
    }
    if (verbose && (d.staged || index === 0)) s += kv('Staged', d.staged ? 'yes' : 'no');
    if (verbose || multipleStateroots) s += kv('StateRoot', d.osname);
    if (d['gpg-enabled']) s += gpgLines(d, verbose);
    if (d['pending-base-checksum'] && verbose) {
      const pv = d['pending-base-version'];
      s += kv('PendingBaseCommit', d['pending-base-checksum']);
      if (pv !== undefined) s += kv('PendingBaseVersion', `${pv} (${isoTime(d['pending-base-timestamp'] ?? 0)})`);
    }
    if (d['base-checksum']) s += layerLines(d);
    // Requests recorded in the origin but not layered (nothing is layered on an ostree-only host).
    else if (verbose && d['requested-packages'].length) s += kv('InactiveRequests', [...d['requested-packages']].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())).join(' '));
    s += initramfsLines(d);
    if (d.pinned) s += kv('Pinned', 'yes');
    if (d.unlocked !== 'none') s += kv('Unlocked', d.unlocked);
    if (d.endoflife) s += kv('EndOfLife', d.endoflife);
  });
  return s;
}
