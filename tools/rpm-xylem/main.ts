// `rpm-xylem`: rpm-ostree's host commands (status, upgrade, deploy, rebase, rollback, cleanup,
// cancel, kargs, reset) without a daemon or D-Bus — each mutating verb runs its transaction in
// this process, holding the sysroot's transaction lock (lock.ts) so that other invocations see
// it as busy, can cancel it, and recover after it if it died. Texts and exit codes follow
// rpm-ostree: errors are "error: …" with exit 1, "unchanged" is exit 77 where rpm-ostree uses it.
//
// Booted deployment (see src/updater/booted.ts): on sysroot "/" the running one; elsewhere the
// one named by --booted-deployment=SPEC or XYLEM_BOOTED, else the ostree= kernel argument
// (XYLEM_PROC_CMDLINE or /proc/cmdline) when it resolves inside this sysroot, else none — then
// the stateroot's default deployment stands in for it when telling pending from rollback.
//
// Test hooks (env): XYLEM_TEST_FETCH_DELAY_MS=N waits N ms before every HTTP request (only those
// whose URL matches the regular expression XYLEM_TEST_FETCH_DELAY_MATCH, when set);
// XYLEM_TEST_PAUSE_AT=PHASE:MS[,…] pauses (cancellably) on entering a phase (pulling, deploying,
// finalizing, cleaning). -r/--reboot never reboots: it records the request in
// SYSROOT/run/xylem/reboot-requested and says what would boot next.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import type { Host } from '../../src/host.ts';
import { parseOptions, type OptionSpec, type Parsed } from '../cli/options.ts';
import { HelpRequested, programName, renderHelp, type HelpInfo } from '../cli/help.ts';
import { UsageError } from '../cli/context.ts';
import { XYLEM_VERSION } from '../cli/version.ts';
import { Sysroot } from '../../src/sysroot/sysroot.ts';
import { cleanupSysroot } from '../../src/sysroot/cleanup.ts';
import { KernelArgs } from '../../src/sysroot/kargs.ts';
import { writeTextAtomic } from '../../src/sysroot/fsutil.ts';
import { formatSize } from '../../src/util/format-size.ts';
import { XylemError } from '../../src/util/errors.ts';
import { joinPath } from '../../src/util/path.ts';
import {
  applyBooted,
  cleanupTxn,
  deployTxn,
  isCancellation,
  kargsTarget,
  kargsTxn,
  gpgLines,
  kv,
  readTransactionResult,
  readTransactionState,
  rebaseTxn,
  resetTxn,
  renderStatusJson,
  renderStatusText,
  requestCancel,
  resolveOsname,
  rollbackTxn,
  statePaths,
  statusModel,
  transactionFetch,
  upgradeTxn,
  userKargs,
  CancelledError,
  type TxnContext,
  type TxnResult,
  type UpdateCheck,
} from '../../src/updater/index.ts';
import { beginTransaction, liveTransaction, ownerAlive } from './lock.ts';
import { DB_SPECS, runDb } from './db.ts';
import { INITRAMFS_ETC_SPECS, INITRAMFS_SPECS, runInitramfs, runInitramfsEtc, type InitramfsEnv } from './initramfs.ts';
import { COMPOSE_SPECS, runCompose } from './compose.ts';
import { INSTALL_SPECS, OVERRIDE_SPECS, RESET_SPECS, UNINSTALL_SPECS, runInstall, runOverride, runReset, runUninstall, SNAPSHOT_SPECS, snapshotOption, type LayerEnv } from './layer.ts';
import { APPLY_LIVE_SPECS, USROVERLAY_SPECS, applyLiveWith, runApplyLive, runUsroverlay, type LiveEnv } from './live.ts';
import { cleanRpmmdCache, hasLayeredCommit, hasLayeredOrigin, layerTxn, layerUpgradeTxn, refreshRpmmd } from '../../src/layer/index.ts';

const EXIT_UNCHANGED = 77;

const COMMANDS: Array<[string, string]> = [
  ['apply-live', 'Apply pending deployment changes to booted deployment'],
  ['cancel', 'Cancel an active transaction'],
  ['cleanup', 'Clear cached/pending data'],
  ['compose', 'Commands to compose a tree'],
  ['db', 'Commands to query the RPM database'],
  ['deploy', 'Deploy a specific commit'],
  ['initramfs', 'Enable or disable local initramfs regeneration'],
  ['initramfs-etc', 'Add files to the initramfs'],
  ['install', 'Overlay additional packages'],
  ['kargs', 'Query or modify kernel arguments'],
  ['override', 'Manage base package overrides'],
  ['rebase', 'Switch to a different tree'],
  ['refresh-md', 'Generate rpm repo metadata'],
  ['reset', 'Remove all mutations'],
  ['rollback', 'Revert to the previously booted tree'],
  ['status', 'Get the version of the booted system'],
  ['uninstall', 'Remove overlayed additional packages'],
  ['upgrade', 'Perform a system upgrade'],
  ['usroverlay', 'Apply a transient overlayfs to /usr'],
];

const GLOBAL: OptionSpec[] = [
  { name: 'sysroot', kind: 'string', arg: 'PATH', description: 'Root of the system to operate on' },
  { name: 'os', kind: 'string', arg: 'OSNAME', description: 'Operate on this stateroot (operating system name)' },
  { name: 'stateroot', kind: 'string', arg: 'NAME', description: 'Operate on this stateroot' },
  { name: 'booted-deployment', kind: 'string', arg: 'INDEX', description: 'Treat this deployment as the booted one' },
  { name: 'help', short: 'h', kind: 'flag', description: 'Show help options' },
  { name: 'quiet', short: 'q', kind: 'flag', description: 'Avoid printing most informational messages' },
  { name: 'peer', kind: 'flag', description: 'Accepted for rpm-ostree compatibility; no daemon is used' },
];

interface Env {
  host: Host;
  env: Record<string, string | undefined>;
  sysroot: string;
  osname: string | null;
  booted: string | null;
  quiet: boolean;
  argv: string[];
  p: Parsed;
  out(text: string): void;
  err(text: string): void;
}

/** A command: its options, what follows [OPTION…] on its usage line, and its body. */
type Verb = { specs: OptionSpec[]; params?: string; run: (e: Env) => Promise<number> };

const VERSION_SPEC: OptionSpec = { name: 'version', kind: 'flag', description: 'Print version information and exit' };

function line(e: Env): (s: string) => void {
  return (s) => {
    if (!e.quiet) e.out(`${s}\n`);
  };
}

/** Sysroot.load, retried: another process may swap the boot set while we read it. */
async function loadSysroot(host: Host, path: string): Promise<Sysroot> {
  for (let i = 0; ; i++) {
    try {
      return await Sysroot.load(host, path);
    } catch (e) {
      if (i >= 4) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function parsePauses(spec: string | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const part of (spec ?? '').split(',')) {
    const [phase, ms] = part.split(':');
    if (phase && ms && /^\d+$/.test(ms)) m.set(phase, Number(ms));
  }
  return m;
}

/** Runs `fn` as the sysroot's transaction titled `title` (see lock.ts). */
async function transaction<T>(e: Env, title: string, fn: (ctx: TxnContext) => Promise<T>): Promise<T> {
  const held = await beginTransaction(e.host, e.sysroot, title);
  try {
    const delay = Number(e.env.XYLEM_TEST_FETCH_DELAY_MS ?? '0');
    const baseFetch = e.host.fetch ?? globalThis.fetch.bind(globalThis);
    const match = e.env.XYLEM_TEST_FETCH_DELAY_MATCH ? new RegExp(e.env.XYLEM_TEST_FETCH_DELAY_MATCH) : null;
    // Pulls go through this fetch (cancellable, test delays): a host's own HTTP client, if it
    // has one, is left out of transactions.
    const { http: _ownClient, ...plain } = e.host as Host & { http?: unknown };
    const host: Host = {
      ...plain,
      fetch: transactionFetch(baseFetch, { token: held.token, delayMs: Number.isFinite(delay) && delay > 0 ? delay : 0, delayMatch: match }),
    };
    let sysroot = await loadSysroot(host, e.sysroot);
    if (held.recovered) {
      e.err(`Recovering after interrupted transaction: ${held.recovered.title} (pid ${held.recovered.pid})\n`);
      await cleanupSysroot(sysroot, { prune: false });
      sysroot = await loadSysroot(host, e.sysroot);
    }
    await applyBooted(sysroot, { spec: e.booted });
    const pauses = parsePauses(e.env.XYLEM_TEST_PAUSE_AT);
    const ctx: TxnContext = {
      sysroot,
      token: held.token,
      out: line(e),
      progress: held.progress,
      osname: e.osname,
      checkpoint: async (phase) => {
        const ms = pauses.get(phase);
        if (ms) await held.token.sleep(ms);
      },
    };
    const r = await fn(ctx);
    await held.finish('succeeded', '');
    return r;
  } catch (err) {
    const cancelled = isCancellation(err, held.token);
    const msg = err instanceof Error ? err.message : String(err);
    await held.finish(cancelled ? 'cancelled' : 'failed', msg);
    if (cancelled) throw new CancelledError('Transaction was cancelled');
    throw err;
  }
}

/** -r: never reboot; record what would boot next and say so. */
async function recordReboot(e: Env): Promise<void> {
  const sysroot = await loadSysroot(e.host, e.sysroot);
  const next = sysroot.deployments[0];
  const id = next ? `${next.osname}-${next.csum}.${next.deployserial}` : '(none)';
  const p = statePaths(e.sysroot);
  await e.host.fs.mkdir(p.dir, { recursive: true });
  await writeTextAtomic(e.host.fs, joinPath(p.dir, 'reboot-requested'), `${JSON.stringify({ next: id, requested: new Date().toISOString() })}\n`);
  line(e)(`Reboot requested; not rebooting this machine (rpm-xylem never reboots). Next boot: ${id}`);
}

async function finishDeploy(e: Env, r: TxnResult, reboot: boolean, exit77: boolean): Promise<number> {
  if (!r.changed) return exit77 ? EXIT_UNCHANGED : 0;
  if (reboot) await recordReboot(e);
  else line(e)('Run "systemctl reboot" to start a reboot');
  return 0;
}

function title(e: Env): string {
  return ['rpm-xylem', ...e.argv].join(' ');
}

function printAvailableUpdate(e: Env, c: UpdateCheck, preview: boolean): void {
  const W = 13;
  let s = 'AvailableUpdate:\n';
  const ts = new Date(Number(c.commit.timestamp) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  s += c.version !== null ? kv('Version', `${c.version} (${ts})`, W) : kv('Timestamp', ts, W);
  s += kv('Commit', c.checksum, W);
  if (c.signatures !== null) s += gpgLines({ signatures: c.signatures }, preview, W);
  if (preview && c.diff && c.estimate) {
    const d = c.diff;
    s += kv('Diff', `${d.added.length} added, ${d.modified.length} modified, ${d.removed.length} removed`, W);
    const est = c.estimate;
    const bytes = est.metadataBytes + est.contentBytes;
    const objects = est.metadataObjects + est.contentObjects;
    const unknown = est.unknownSizes ? `; ${est.unknownSizes} of unknown size` : '';
    s += kv('Download', `${est.unknownSizes ? 'at least ' : ''}${bytes} bytes (${formatSize(bytes)}) in ${objects} objects${unknown}`, W);
    for (const [key, list] of [
      ['Added', d.added],
      ['Modified', d.modified],
      ['Removed', d.removed],
    ] as Array<[string, string[]]>)
      list.forEach((path, i) => (s += kv(i === 0 ? key : '', path, W)));
  }
  e.out(s);
}

const verbs: Record<string, Verb> = {
  db: { specs: DB_SPECS, params: 'diff|list|version [OPTION…] REV…', run: (e) => runDb(e) },
  compose: { specs: COMPOSE_SPECS, params: 'tree [OPTION…] TREEFILE', run: (e) => runCompose({ ...e, cwd: process.cwd() }) },
  status: {
    specs: [
      { name: 'verbose', short: 'v', kind: 'flag', description: 'Print more' },
      { name: 'advisories', short: 'a', kind: 'flag', description: 'List advisories (none: no package layer)' },
      { name: 'json', kind: 'flag', description: 'Print JSON' },
      { name: 'jsonpath', short: 'J', kind: 'string', arg: 'EXPRESSION', description: 'Print the part of the JSON this expression selects' },
      { name: 'booted', short: 'b', kind: 'flag', description: 'Show only the booted deployment' },
      { name: 'pending-exit-77', kind: 'flag', description: 'Exit 77 if a deployment is pending' },
      { name: 'pretty', short: 'p', kind: 'flag', description: 'Print JSON indented' },
    ],
    async run(e) {
      if (e.p.value('jsonpath') !== undefined) throw new XylemError('--jsonpath is not supported by rpm-xylem; use --json');
      const sysroot = await loadSysroot(e.host, e.sysroot);
      await applyBooted(sysroot, { spec: e.booted });
      const txn = await liveTransaction(e.host, e.sysroot);
      const model = await statusModel(sysroot, txn);
      if (e.p.flag('booted') && e.p.flag('json')) model.deployments = model.deployments.filter((d) => d.booted);
      e.out(e.p.flag('json') ? renderStatusJson(model) : renderStatusText(model, { verbose: e.p.flag('verbose'), bootedOnly: e.p.flag('booted'), transaction: txn }));
      if (e.p.flag('pending-exit-77') && sysroot.booted) {
        const first = sysroot.deployments.find((d) => d.osname === sysroot.booted!.osname);
        if (first && first !== sysroot.booted) return EXIT_UNCHANGED;
      }
      return 0;
    },
  },
  upgrade: {
    specs: [
      { name: 'reboot', short: 'r', kind: 'flag', description: 'Reboot when done' },
      { name: 'allow-downgrade', kind: 'flag', description: 'Allow moving to an older commit' },
      ...SNAPSHOT_SPECS,
      { name: 'check', kind: 'flag', description: 'Only check whether an update is available' },
      { name: 'preview', kind: 'flag', description: 'Like --check, and list the changes' },
      { name: 'check-diff', kind: 'flag', description: 'Also list the changes' },
      { name: 'download-only', kind: 'flag', description: 'Download the update without deploying it' },
      { name: 'cache-only', short: 'C', kind: 'flag', description: 'Deploy what is already downloaded, without fetching' },
      { name: 'unchanged-exit-77', kind: 'flag', description: 'Exit 77 if there is nothing new' },
      { name: 'upgrade-unchanged-exit-77', kind: 'flag', description: 'Exit 77 if there is nothing new' },
      { name: 'bypass-driver', kind: 'flag', description: 'Ignore a registered update driver' },
      { name: 'lock-finalization', kind: 'flag', description: 'Stage the deployment and wait for an explicit unlock before finalizing' },
    ],
    async run(e) {
      const p = e.p;
      const preview = p.flag('preview') || p.flag('check-diff');
      const check = p.flag('check') && !preview;
      if (p.flag('reboot') && preview) throw new XylemError('Cannot specify both --reboot and --preview');
      if (p.flag('reboot') && check) throw new XylemError('Cannot specify both --reboot and --check');
      if (p.flag('cache-only') && p.flag('download-only')) throw new XylemError("Can't specify cache-only and download-only");
      if (p.flag('cache-only')) throw new XylemError('--cache-only is not supported by rpm-xylem');
      let layerDiff: string | null = null;
      const r = await transaction(e, title(e), async (ctx): Promise<TxnResult> => {
        if (!(await hasLayeredOrigin(ctx))) {
          if (snapshotOption(p) !== undefined) throw new XylemError('--base-snapshot / --no-base-snapshot apply to a deployment with layered packages or overrides; there are none');
          return upgradeTxn(ctx, { allowDowngrade: p.flag('allow-downgrade'), downloadOnly: p.flag('download-only'), check, preview, lockFinalization: p.flag('lock-finalization') });
        }
        if (p.flag('download-only') || p.flag('lock-finalization')) throw new XylemError('--download-only and --lock-finalization are not supported on a layered deployment by rpm-xylem');
        const snap = snapshotOption(p);
        const lr = await layerUpgradeTxn(ctx, { allowDowngrade: p.flag('allow-downgrade'), check, preview, ...(snap === undefined ? {} : { baseSnapshot: snap }), ...(e.env.XYLEM_LAYER_REPOS_DIR ? { reposDir: e.env.XYLEM_LAYER_REPOS_DIR } : {}) });
        if (check || preview) {
          layerDiff = lr.newBase ? `AvailableUpdate:\n  BaseCommit: ${lr.newBase}\n${preview ? lr.diff ?? '' : ''}` : '';
          return { changed: false };
        }
        return lr;
      });
      if (layerDiff !== null) {
        if (layerDiff === '') {
          e.out('No updates available.\n');
          return EXIT_UNCHANGED;
        }
        e.out(layerDiff);
        return 0;
      }
      if (check || preview) {
        if (!r.check) {
          e.out('No updates available.\n');
          return EXIT_UNCHANGED;
        }
        printAvailableUpdate(e, r.check, preview);
        return 0;
      }
      return finishDeploy(e, r, p.flag('reboot'), p.flag('unchanged-exit-77') || p.flag('upgrade-unchanged-exit-77'));
    },
  },
  deploy: {
    params: 'REVISION',
    specs: [
      { name: 'reboot', short: 'r', kind: 'flag', description: 'Reboot when done' },
      { name: 'unchanged-exit-77', kind: 'flag', description: 'Exit 77 if there is nothing new' },
      { name: 'bypass-driver', kind: 'flag', description: 'Ignore a registered update driver' },
    ],
    async run(e) {
      const revs = e.p.positionals;
      if (revs.length !== 1) throw new UsageError(revs.length === 0 ? 'REVISION must be specified' : 'Too many arguments passed');
      const r = await transaction(e, title(e), (ctx) => deployTxn(ctx, revs[0]!));
      return finishDeploy(e, r, e.p.flag('reboot'), e.p.flag('unchanged-exit-77'));
    },
  },
  rebase: {
    params: 'REFSPEC [REVISION]',
    specs: [
      { name: 'reboot', short: 'r', kind: 'flag', description: 'Reboot when done' },
      { name: 'skip-purge', kind: 'flag', description: 'Keep the old ref' },
      { name: 'branch', short: 'b', kind: 'string', arg: 'BRANCH', description: 'Branch to switch to' },
      { name: 'remote', short: 'm', kind: 'string', arg: 'REMOTE', description: 'Remote to take the new ref from' },
      { name: 'bypass-driver', kind: 'flag', description: 'Ignore a registered update driver' },
    ],
    async run(e) {
      const pos = [...e.p.positionals];
      const branch = e.p.value('branch');
      const remote = e.p.value('remote');
      let target: string | undefined;
      if (branch !== undefined || remote !== undefined) {
        if (pos.length > 1) throw new UsageError('Too many arguments passed');
        target = remote !== undefined ? `${remote}:${branch ?? ''}` : branch;
        if (remote !== undefined && branch === undefined) target = `${remote}:`;
      } else {
        if (pos.length === 0) throw new UsageError('Must specify refspec, or -b branch or -m remote');
        if (pos.length > 2) throw new UsageError('Too many arguments passed');
        target = pos.shift();
      }
      const revision = branch !== undefined || remote !== undefined ? (pos[0] ?? null) : (pos[0] ?? null);
      const r = await transaction(e, title(e), (ctx) => rebaseTxn(ctx, target!, revision, { skipPurge: e.p.flag('skip-purge') }));
      return finishDeploy(e, r, e.p.flag('reboot'), false);
    },
  },
  rollback: {
    specs: [{ name: 'reboot', short: 'r', kind: 'flag', description: 'Reboot when done' }],
    async run(e) {
      const r = await transaction(e, 'rollback', (ctx) => rollbackTxn(ctx));
      return finishDeploy(e, r, e.p.flag('reboot'), false);
    },
  },
  cleanup: {
    specs: [
      { name: 'pending', short: 'p', kind: 'flag', description: 'Remove the pending deployment' },
      { name: 'rollback', short: 'r', kind: 'flag', description: 'Remove the rollback deployment' },
      { name: 'base', short: 'b', kind: 'flag', description: 'Clear temporary files; deployments stay' },
      { name: 'repomd', short: 'm', kind: 'flag', description: 'Delete cached package metadata (xylem keeps none)' },
    ],
    async run(e) {
      const o = { pending: e.p.flag('pending'), rollback: e.p.flag('rollback'), base: e.p.flag('base'), repomd: e.p.flag('repomd') };
      if (!o.pending && !o.rollback && !o.base && !o.repomd) throw new UsageError('At least one cleanup option must be specified');
      await transaction(e, 'cleanup', async (ctx) => {
        const r = await cleanupTxn(ctx, o);
        if (o.repomd) await cleanRpmmdCache(ctx.sysroot, await resolveOsname(ctx.sysroot, ctx.osname));
        return r;
      });
      return 0;
    },
  },
  cancel: {
    specs: [],
    async run(e) {
      const txn = await liveTransaction(e.host, e.sysroot);
      if (!txn) {
        e.out('No active transaction.\n');
        return 0;
      }
      e.out(`Cancelling transaction: ${txn.title}\n`);
      await requestCancel(e.host.fs, e.sysroot, txn.id);
      const deadline = Date.now() + Number(e.env.XYLEM_CANCEL_TIMEOUT_MS ?? 300_000);
      for (;;) {
        const cur = await readTransactionState(e.host.fs, e.sysroot).catch(() => null);
        if (!cur || cur.id !== txn.id || !ownerAlive(cur)) break;
        if (Date.now() > deadline) throw new XylemError(`Transaction ${txn.title} did not stop in time`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const res = await readTransactionResult(e.host.fs, e.sysroot).catch(() => null);
      if (res && res.id === txn.id && res.outcome !== 'cancelled') e.out(`Transaction already ${res.outcome === 'succeeded' ? 'complete' : 'failed'}; nothing was cancelled.\n`);
      else e.out('Cancelled.\n');
      return 0;
    },
  },
  kargs: {
    specs: [
      { name: 'append', kind: 'strings', arg: 'KEY=VALUE', description: 'Append this kernel argument (repeatable)' },
      { name: 'append-if-missing', kind: 'strings', arg: 'KEY=VALUE', description: 'Append this kernel argument unless present (repeatable)' },
      { name: 'delete', kind: 'strings', arg: 'KEY=VALUE', description: 'Delete this kernel argument (repeatable)' },
      { name: 'delete-if-present', kind: 'strings', arg: 'KEY=VALUE', description: 'Delete this kernel argument if present (repeatable)' },
      { name: 'replace', kind: 'strings', arg: 'KEY=VALUE', description: 'Replace this kernel argument (repeatable)' },
      { name: 'editor', kind: 'flag', description: 'Edit the kernel arguments in an editor' },
      { name: 'import-proc-cmdline', kind: 'flag', description: 'Start from the kernel arguments of the running system' },
      { name: 'deploy-index', kind: 'string', arg: 'INDEX', description: 'Act on this deployment' },
      { name: 'unchanged-exit-77', kind: 'flag', description: 'Exit 77 if there is nothing new' },
      { name: 'reboot', short: 'r', kind: 'flag', description: 'Reboot when done' },
    ],
    async run(e) {
      const p = e.p;
      if (p.positionals.length) throw new UsageError(`Unexpected argument '${p.positionals[0]}'`);
      const idxText = p.value('deploy-index');
      if (idxText !== undefined && !/^\d{1,6}$/.test(idxText)) throw new UsageError(`Invalid deploy index '${idxText}'`);
      const deployIndex = idxText === undefined ? null : Number(idxText);
      const edits = ['append', 'append-if-missing', 'delete', 'delete-if-present', 'replace'].some((n) => p.list(n).length > 0);
      if (p.flag('editor') && edits) throw new UsageError('Cannot specify --editor with other modification options');
      let set: string[] | null = null;
      if (p.flag('import-proc-cmdline')) {
        const k = KernelArgs.parse(readFileSync('/proc/cmdline', 'utf8'));
        for (const key of ['ostree', 'BOOT_IMAGE', 'initrd']) k.deleteKey(key);
        set = k.toArgv();
      }
      if (!edits && !p.flag('editor') && set === null) {
        const sysroot = await loadSysroot(e.host, e.sysroot);
        await applyBooted(sysroot, { spec: e.booted });
        const osname = await resolveOsname(sysroot, e.osname);
        e.out(`${userKargs(kargsTarget(sysroot, osname, deployIndex)).toString()}\n`);
        return 0;
      }
      if (p.flag('editor')) set = await editKargs(e, deployIndex);
      const r = await transaction(e, 'kargs', (ctx) =>
        kargsTxn(ctx, {
          append: p.list('append'),
          appendIfMissing: p.list('append-if-missing'),
          delete: p.list('delete'),
          deleteIfPresent: p.list('delete-if-present'),
          replace: p.list('replace'),
          set,
          deployIndex,
        }),
      );
      return finishDeploy(e, r, p.flag('reboot'), p.flag('unchanged-exit-77'));
    },
  },
  reset: {
    specs: RESET_SPECS,
    async run(e) {
      // Without a client layer there is nothing to rebuild: the origin reset of src/updater.
      const plainReset = async (t: string) => {
        const opts = e.env.XYLEM_LAYER_REPOS_DIR ? { reposDir: e.env.XYLEM_LAYER_REPOS_DIR } : {};
        const r = await transaction(e, t, async (ctx): Promise<TxnResult> =>
          (await hasLayeredCommit(ctx)) ? layerTxn(ctx, { resetOverlays: true, resetAllOverrides: true, resetInitramfs: true }, opts) : resetTxn(ctx),
        );
        return finishDeploy(e, r, e.p.flag('reboot'), e.p.flag('unchanged-exit-77'));
      };
      return runReset({ ...layerEnv(e), plainReset }, title(e));
    },
  },
  install: { specs: INSTALL_SPECS, params: 'PACKAGE…', run: (e) => runInstall(layerEnv(e), title(e)) },
  initramfs: { specs: INITRAMFS_SPECS, run: (e) => runInitramfs(initramfsEnv(e), title(e)) },
  'initramfs-etc': { specs: INITRAMFS_ETC_SPECS, run: (e) => runInitramfsEtc(initramfsEnv(e), title(e)) },
  uninstall: { specs: UNINSTALL_SPECS, params: 'PACKAGE…', run: (e) => runUninstall(layerEnv(e), title(e)) },
  override: { specs: OVERRIDE_SPECS, params: 'remove|replace|reset PACKAGE…', run: (e) => runOverride(layerEnv(e), title(e)) },
  'refresh-md': {
    specs: [{ name: 'force', short: 'f', kind: 'flag', description: 'Expire current cache' }],
    async run(e) {
      const ids = await transaction(e, title(e), async (ctx) => refreshRpmmd(ctx.sysroot, await resolveOsname(ctx.sysroot, ctx.osname), { force: e.p.flag('force'), ...(e.env.XYLEM_LAYER_REPOS_DIR ? { reposDir: e.env.XYLEM_LAYER_REPOS_DIR } : {}) }));
      line(e)(ids.length ? `Updated rpm-md repo metadata: ${ids.join(' ')}` : 'No enabled rpm-md repositories.');
      return 0;
    },
  },
};
verbs['apply-live'] = { specs: APPLY_LIVE_SPECS, run: (e) => runApplyLive(liveEnv(e), title(e)) };
verbs.usroverlay = { specs: USROVERLAY_SPECS, run: (e) => runUsroverlay(liveEnv(e), title(e)) };
verbs.unlock = verbs.usroverlay;
verbs.update = verbs.upgrade!;

function liveEnv(e: Env): LiveEnv {
  return { p: e.p, env: e.env, run: (t, fn) => transaction(e, t, fn), line: line(e) };
}

/** The layering verbs' view of the environment (tools/rpm-xylem/layer.ts). */
function layerEnv(e: Env): LayerEnv {
  // The sandbox wants absolute roots: a relative --sysroot is taken from the working directory.
  e.sysroot = resolvePath(e.sysroot);
  return { p: e.p, cwd: process.cwd(), env: e.env, run: (t, fn) => transaction(e, t, fn), finish: (r, reboot, exit77) => finishDeploy(e, r, reboot, exit77), applyLive: () => applyLiveWith(liveEnv(e), `${title(e)} (apply-live)`, {}).then(() => 0) };
}

/** The initramfs verbs' view (tools/rpm-xylem/initramfs.ts): the layering one plus reads. */
function initramfsEnv(e: Env): InitramfsEnv {
  const load = async () => {
    const sysroot = await loadSysroot(e.host, e.sysroot);
    await applyBooted(sysroot, { spec: e.booted });
    return sysroot;
  };
  return {
    ...layerEnv(e),
    out: line(e),
    async pending() {
      const sysroot = await load();
      const osname = await resolveOsname(sysroot, e.osname);
      const mine = sysroot.deployments.filter((d) => d.osname === osname);
      return { origin: mine[0]?.origin ?? null, count: mine.length };
    },
    async isBooted() {
      return (await load()).booted !== null;
    },
  };
}

/** --editor: the current arguments in $EDITOR (one per line, # comments), read back. */
async function editKargs(e: Env, deployIndex: number | null): Promise<string[]> {
  const sysroot = await loadSysroot(e.host, e.sysroot);
  await applyBooted(sysroot, { spec: e.booted });
  const osname = await resolveOsname(sysroot, e.osname);
  const current = userKargs(kargsTarget(sysroot, osname, deployIndex)).toString();
  const editor = e.env.VISUAL || e.env.EDITOR || 'vi';
  const dir = mkdtempSync(join(tmpdir(), 'rpm-xylem-kargs-'));
  try {
    const file = join(dir, 'kargs');
    writeFileSync(file, `${current}\n# Edit the kernel arguments above; lines starting with '#' are ignored.\n`);
    const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit' });
    if (r.status !== 0) throw new XylemError(`Editor '${editor}' exited with status ${r.status}`);
    const text = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join(' ');
    return KernelArgs.parse(text).toArgv();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const env = process.env as Record<string, string | undefined>;
  if (!env.UV_THREADPOOL_SIZE) env.UV_THREADPOOL_SIZE = '16';
  const out = (t: string) => void process.stdout.write(t);
  const err = (t: string) => void process.stderr.write(t);
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) i++;
  if (argv.slice(0, i).includes('--version')) {
    out(`rpm-xylem:\n Version: '${XYLEM_VERSION}'\n Features:\n  - ostree\n`);
    return 0;
  }
  const prog = programName(env, 'rpm-xylem');
  const top: HelpInfo = { path: [], params: 'COMMAND', specs: [...GLOBAL, VERSION_SPEC], subcommands: COMMANDS };
  const name = argv[i];
  if (name === undefined) {
    const help = argv.includes('--help') || argv.includes('-h');
    (help ? out : err)(renderHelp(prog, top));
    if (!help) err('error: No command specified\n');
    return help ? 0 : 1;
  }
  const verb = verbs[name];
  if (!verb) {
    err(renderHelp(prog, top));
    err(`error: Unknown command '${name}'\n`);
    return 1;
  }
  const rest = [...argv.slice(0, i), ...argv.slice(i + 1)];
  const specs = [...verb.specs, ...GLOBAL.filter((g) => !verb.specs.some((s) => s.name === g.name || (s.short && s.short === g.short)))];
  const help: HelpInfo = { path: [name], summary: COMMANDS.find((c) => c[0] === name)?.[1] ?? '', params: verb.params ?? '', specs };
  let p: Parsed;
  try {
    p = parseOptions(rest, specs);
  } catch (e) {
    if (e instanceof HelpRequested) {
      out(renderHelp(prog, help));
      return 0;
    }
    err(`${renderHelp(prog, help)}\n`);
    err(`error: usage error: ${(e as Error).message}\n`);
    return 1;
  }
  const host = createNodeHost({ blockingCalls: env.XYLEM_BLOCKING_IO !== '0' });
  const e: Env = {
    host,
    env,
    sysroot: p.value('sysroot') ?? env.OSTREE_SYSROOT ?? '/',
    osname: p.value('os') ?? p.value('stateroot') ?? null,
    booted: p.value('booted-deployment') ?? null,
    quiet: p.flag('quiet'),
    argv,
    p,
    out,
    err,
  };
  try {
    return await verb.run(e);
  } catch (x) {
    const msg = x instanceof Error ? x.message : String(x);
    if (x instanceof UsageError) {
      err(`${renderHelp(prog, help)}\n`);
      err(`error: usage error: ${msg}\n`);
    } else err(`error: ${msg}\n`);
    if (env.XYLEM_DEBUG && x instanceof Error) err(`${x.stack}\n`);
    return 1;
  }
}

// Exit explicitly: idle keep-alive HTTP connections would otherwise hold the process for seconds
// (stdout/stderr are synchronous for files and pipes on Linux, so nothing written is lost).
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
