// `xylem admin …`: ostree's host commands on a sysroot (--sysroot=DIR, OSTREE_SYSROOT, else /):
// init-fs, os-init, deploy, status, undeploy, cleanup, set-default, pin, kargs edit-in-place,
// config-diff, set-origin, upgrade, switch, unlock, and --print-current-dir. Texts follow ostree 2022.7.

import type { CliContext, Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseOptions, type OptionSpec, type Parsed } from '../cli/options.ts';
import type { SubcommandRow } from '../cli/common.ts';
import { HelpRequested } from '../cli/help.ts';
import { KeyFile } from '../../src/format/keyfile.ts';
import { parseRefspec, refPath, resolveRev } from '../../src/repo/refs.ts';
import type { Repo } from '../../src/repo/repo.ts';
import { errnoCode } from '../../src/util/errors.ts';
import { XylemError } from '../../src/util/errors.ts';
import { fromUtf8 } from '../../src/util/bytes.ts';
import {
  Sysroot,
  KernelArgs,
  kargsFromProcCmdline,
  initFs,
  initStateroot,
  deployTree,
  simpleWriteDeployment,
  cleanupSysroot,
  formatStatus,
  undeploy,
  setDefault,
  setPinned,
  appendKargsIfMissingInPlace,
  setKargs,
  configDiff,
  setOrigin,
  deploymentAt,
  parseDeploymentIndex,
  upgrade,
  switchOrigin,
  stageTree,
  stageOverlayInitrd,
  finalizeStaged,
  bootComplete,
  readFinalizeFailure,
  unlockDeployment,
  unlockMessage,
  requireBooted,
} from '../../src/sysroot/index.ts';

const SUBCOMMANDS: SubcommandRow[] = [
  ['cleanup', 'Delete untagged deployments and repository objects', ''],
  ['config-diff', 'Diff current /etc configuration versus default', ''],
  ['deploy', 'Checkout revision REFSPEC as the new default deployment', 'REFSPEC'],
  ['init-fs', 'Initialize a root filesystem', 'PATH'],
  ['os-init', 'Initialize empty state for given operating system', 'OSNAME'],
  ['pin', 'Change the "pinning" state of a deployment', 'INDEX…'],
  ['set-default', 'Make a deployment the default', 'INDEX'],
  ['set-origin', 'Set Origin and create a new origin file', 'REMOTENAME URL [BRANCH]'],
  ['status', 'List deployments', ''],
  ['switch', 'Construct new tree from REFSPEC and deploy it', 'REFSPEC'],
  ['undeploy', 'Delete deployment INDEX', 'INDEX'],
  ['unlock', 'Make the current deployment mutable (as a hotfix or development)', ''],
  ['upgrade', 'Construct new tree from current origin and deploy it, if it changed', ''],
  ['kargs', 'Change kernel arguments', 'COMMAND'],
  ['instutil', 'Commands intended for installer programs', 'COMMAND'],
  ['finalize-staged', 'Internal command to run at shutdown time', ''],
  ['boot-complete', 'Internal command to run at boot time', ''],
];

/** Subcommands of the admin subcommands that group others (for their help). */
const NESTED: Record<string, SubcommandRow[]> = {
  kargs: [['edit-in-place', 'Set new kernel command line arguments in place (all deployments)', 'ARGS']],
  instutil: [['set-kargs', 'Set new kernel command line arguments of the first deployment', 'ARGS']],
};

const COMMON: OptionSpec[] = [
  { name: 'sysroot', kind: 'string', arg: 'PATH', description: 'Root of the system to operate on (default: $OSTREE_SYSROOT, else /)' },
  { name: 'verbose', short: 'v', kind: 'flag', description: 'Print debug information while the command runs' },
  { name: 'help', short: 'h', kind: 'flag', description: 'Show help options' },
  { name: 'print-current-dir', kind: 'flag', description: 'Print the folder of the booted deployment and exit' },
];

interface AdminCtx {
  ctx: CliContext;
  sysrootPath: string;
  p: Parsed;
  line(s: string): void;
  /** Sysroots this command loaded: their locks are released (ostree/lock unlinked) when it ends. */
  loaded: Sysroot[];
}

function parseSub(ctx: CliContext, argv: string[], specs: OptionSpec[]): Parsed {
  const names = new Set(specs.map((s) => s.name));
  return parseOptions(argv, [...specs, ...COMMON.filter((c) => !names.has(c.name))]);
}

/**
 * Loads the sysroot; `forWrite` takes the sysroot lock first (waiting, as `ostree admin` does
 * for every command without OSTREE_ADMIN_BUILTIN_FLAG_UNLOCKED).
 */
async function loadSysroot(a: AdminCtx, forWrite = false): Promise<Sysroot> {
  const s = await Sysroot.load(
    a.ctx.host,
    a.sysrootPath,
    forWrite ? { lock: true, onLockWait: () => a.ctx.out('Waiting for sysroot lock...\n') } : {},
  );
  a.loaded.push(s);
  return s;
}

async function readProcCmdline(ctx: CliContext): Promise<string> {
  return fromUtf8(await ctx.host.fs.readFile('/proc/cmdline')).trim();
}

type Sub = (a: AdminCtx) => Promise<number>;

const subs: Record<string, { specs: OptionSpec[]; run: Sub }> = {
  'init-fs': {
    specs: [
      { name: 'modern', kind: 'flag', description: 'Only create the folders a modern system needs' },
      { name: 'epoch', short: 'E', kind: 'string', arg: 'EPOCH', description: 'Layout epoch of the new root' },
    ],
    async run(a) {
      const [dir] = a.p.positionals;
      if (!dir) throw new UsageError('PATH must be specified');
      const epoch = a.p.value('epoch');
      await initFs(a.ctx.host, dir, { modern: a.p.flag('modern'), epoch: epoch === undefined ? undefined : Number(epoch) });
      return 0;
    },
  },
  'os-init': {
    specs: [],
    async run(a) {
      const [osname] = a.p.positionals;
      if (!osname) throw new UsageError('"os-init" requires argument OSNAME');
      await initStateroot(a.ctx.host, a.sysrootPath, osname);
      a.line(`ostree/deploy/${osname} initialized as OSTree root`);
      return 0;
    },
  },
  deploy: {
    specs: [
      { name: 'os', kind: 'string', arg: 'OSNAME', description: 'Operate on this stateroot (operating system name)' },
      { name: 'origin-file', kind: 'string', arg: 'FILE', description: 'Write this origin file instead of one naming REFSPEC' },
      { name: 'no-prune', kind: 'flag', description: 'Do not delete what the new deployment made unreachable' },
      { name: 'no-merge', kind: 'flag', description: 'Do not merge /etc from the current deployment' },
      { name: 'retain', kind: 'flag', description: 'Keep the other deployments' },
      { name: 'stage', kind: 'flag', description: 'Stage the deployment; finalize it at shutdown' },
      { name: 'retain-pending', kind: 'flag', description: 'Keep the pending deployment' },
      { name: 'retain-rollback', kind: 'flag', description: 'Keep the rollback deployment' },
      { name: 'not-as-default', kind: 'flag', description: 'Add the deployment after the booted one, not as the default' },
      { name: 'karg-proc-cmdline', kind: 'flag', description: 'Start from the kernel arguments of the running system' },
      { name: 'karg', kind: 'strings', arg: 'NAME=VALUE', description: 'Set this kernel argument (repeatable)' },
      { name: 'karg-append', kind: 'strings', arg: 'NAME=VALUE', description: 'Append this kernel argument (repeatable)' },
      { name: 'karg-none', kind: 'flag', description: 'Start from no kernel arguments' },
      { name: 'karg-delete', kind: 'strings', arg: 'NAME=VALUE', description: 'Delete this kernel argument (repeatable)' },
      { name: 'overlay-initrd', kind: 'strings', arg: 'FILE', description: 'Add this initramfs overlay (repeatable)' },
      { name: 'lock-finalization', kind: 'flag', description: 'Stage the deployment and wait for an explicit unlock before finalizing' },
    ],
    async run(a) {
      const p = a.p;
      const [refspec] = p.positionals;
      if (!refspec) throw new UsageError('REF/REV must be specified');
      if (p.flag('karg-proc-cmdline') && p.flag('karg-none')) throw new UsageError('Cannot specify both --karg-proc-cmdline and --karg-none');
      const sysroot = await loadSysroot(a, true);
      const repo = await sysroot.repo();
      const osname = p.value('os') ?? sysroot.booted?.osname;
      if (!osname) throw new XylemError('Not currently booted into an OSTree system and no --os= argument given');
      const merge = p.flag('no-merge') ? null : sysroot.mergeDeployment(osname);
      let origin: KeyFile;
      const originFile = p.value('origin-file');
      if (originFile) origin = KeyFile.parseBytes(await a.ctx.host.fs.readFile(originFile), originFile);
      else {
        origin = new KeyFile();
        origin.set('origin', 'refspec', refspec);
      }
      const revision = (await resolveRev(repo, refspec))!;
      // As ostree: leftovers of an earlier interrupted run go first.
      try {
        await cleanupSysroot(sysroot, { prune: false });
      } catch (e) {
        throw new XylemError(`Performing initial cleanup: ${(e as Error).message}`);
      }
      let kargs: KernelArgs | null = null;
      if (p.flag('karg-none')) kargs = new KernelArgs();
      else if (p.flag('karg-proc-cmdline')) kargs = kargsFromProcCmdline(await readProcCmdline(a.ctx));
      else if (merge && (p.list('karg').length || p.list('karg-append').length || p.list('karg-delete').length))
        kargs = KernelArgs.parse(merge.bootconfig.get('options') ?? '');
      if (p.list('karg').length) (kargs ??= new KernelArgs()).replaceArgv(p.list('karg'));
      if (p.list('karg-append').length) (kargs ??= new KernelArgs()).appendArgv(p.list('karg-append'));
      for (const del of p.list('karg-delete')) (kargs ??= new KernelArgs()).delete(del);
      // As ostree: each file is staged in the run directory, named by its sha256.
      const overlayInitrds: string[] = [];
      for (const f of p.list('overlay-initrd')) overlayInitrds.push(await stageOverlayInitrd(sysroot, f));
      if (p.flag('stage')) {
        if (p.flag('retain-pending') || p.flag('retain-rollback')) throw new XylemError('--stage cannot currently be combined with --retain arguments');
        if (p.flag('not-as-default')) throw new XylemError('--stage cannot currently be combined with --not-as-default');
        await stageTree(sysroot, {
          osname,
          revision,
          origin,
          mergeDeployment: merge,
          overrideKargs: kargs ? kargs.toArgv() : null,
          overlayInitrds,
          lockFinalization: p.flag('lock-finalization'),
          out: a.line,
        });
        return 0;
      }
      const d = await deployTree(sysroot, {
        osname,
        revision,
        origin,
        mergeDeployment: merge,
        overrideKargs: kargs ? kargs.toArgv() : null,
        overlayInitrds,
        out: a.line,
        warn: (l) => a.ctx.err(`${l}\n`),
      });
      await simpleWriteDeployment(sysroot, osname, d, merge, {
        retain: p.flag('retain'),
        retainPending: p.flag('retain-pending'),
        retainRollback: p.flag('retain-rollback'),
        notDefault: p.flag('not-as-default'),
        noClean: p.flag('no-prune'),
        out: a.line,
      });
      return 0;
    },
  },
  status: {
    specs: [{ name: 'verify', short: 'V', kind: 'flag', description: 'Check that a finalize failure was recorded' }],
    async run(a) {
      const sysroot = await loadSysroot(a);
      // A staged deployment that failed to finalize at the last shutdown (stdout stays ostree's).
      const failure = await readFinalizeFailure(sysroot);
      if (failure !== null) a.ctx.err(`warning: ostree-finalize-staged.service failed on previous boot: ${failure}\n`);
      a.ctx.out(await formatStatus(sysroot, { verify: a.p.flag('verify') }));
      return 0;
    },
  },
  unlock: {
    specs: [
      { name: 'hotfix', kind: 'flag', description: 'Retain changes across reboots' },
      { name: 'transient', kind: 'flag', description: 'Mount overlayfs read-only by default' },
    ],
    async run(a) {
      if (a.p.positionals.length) throw new UsageError('This command takes no extra arguments');
      const sysroot = await loadSysroot(a, true);
      const booted = requireBooted(sysroot);
      if (a.p.flag('hotfix') && a.p.flag('transient')) throw new XylemError('Cannot specify both --hotfix and --transient');
      const state = a.p.flag('hotfix') ? 'hotfix' : a.p.flag('transient') ? 'transient' : 'development';
      await unlockDeployment(sysroot, booted, state, { out: a.line });
      a.line(unlockMessage(state));
      return 0;
    },
  },
  undeploy: {
    specs: [],
    async run(a) {
      const [idx] = a.p.positionals;
      if (idx === undefined) throw new UsageError('INDEX must be specified');
      const sysroot = await loadSysroot(a, true);
      const { removed } = await undeploy(sysroot, parseDeploymentIndex(idx), a.line);
      a.line(`Deleted deployment ${removed.csum}.${removed.deployserial}`);
      return 0;
    },
  },
  'set-default': {
    specs: [],
    async run(a) {
      const [idx] = a.p.positionals;
      if (idx === undefined) throw new UsageError('INDEX must be specified');
      const sysroot = await loadSysroot(a, true);
      await setDefault(sysroot, parseDeploymentIndex(idx), a.line);
      return 0;
    },
  },
  cleanup: {
    specs: [],
    async run(a) {
      const sysroot = await loadSysroot(a, true);
      await cleanupSysroot(sysroot, { prune: true, out: a.line });
      return 0;
    },
  },
  pin: {
    specs: [{ name: 'unpin', short: 'u', kind: 'flag', description: 'Unpin instead of pinning' }],
    async run(a) {
      if (a.p.positionals.length === 0) throw new UsageError('INDEX must be specified');
      const sysroot = await loadSysroot(a, true);
      const unpin = a.p.flag('unpin');
      for (const s of a.p.positionals) {
        const i = parseDeploymentIndex(s);
        const d = deploymentAt(sysroot, i);
        const was = d.origin?.getBoolean('libostree-transient', 'pinned') === true;
        if (was === !unpin) {
          a.line(`Deployment ${i} is already ${unpin ? 'unpinned' : 'pinned'}`);
          continue;
        }
        await setPinned(sysroot, i, !unpin);
        a.line(`Deployment ${i} is now ${unpin ? 'unpinned' : 'pinned'}`);
      }
      return 0;
    },
  },
  instutil: {
    specs: [
      { name: 'merge', kind: 'flag', description: 'Start from the kernel arguments of the current deployment' },
      { name: 'import-proc-cmdline', kind: 'flag', description: 'Start from the kernel arguments of the running system' },
      { name: 'replace', kind: 'strings', arg: 'KEY=VALUE', description: 'Replace this kernel argument (repeatable)' },
      { name: 'append', kind: 'strings', arg: 'KEY=VALUE', description: 'Append this kernel argument (repeatable)' },
    ],
    async run(a) {
      const [sub, ...args] = a.p.positionals;
      if (sub !== 'set-kargs') throw new UsageError(sub ? `Unknown "instutil" subcommand '${sub}'` : 'No "instutil" subcommand specified');
      const sysroot = await loadSysroot(a);
      const first = sysroot.booted ?? sysroot.deployments[0];
      if (!first) throw new XylemError('Unable to find a deployment in sysroot');
      let kargs: KernelArgs;
      if (a.p.flag('import-proc-cmdline')) kargs = kargsFromProcCmdline(await readProcCmdline(a.ctx));
      else if (a.p.flag('merge')) kargs = KernelArgs.parse(first.bootconfig.get('options') ?? '');
      else kargs = new KernelArgs();
      kargs.replaceArgv(a.p.list('replace'));
      kargs.appendArgv(a.p.list('append'));
      kargs.appendArgv(args);
      await setKargs(sysroot, first.index, kargs, a.line);
      return 0;
    },
  },
  kargs: {
    specs: [{ name: 'append-if-missing', kind: 'strings', arg: 'KEY=VALUE', description: 'Append this kernel argument unless present (repeatable)' }],
    async run(a) {
      const [sub] = a.p.positionals;
      if (sub !== 'edit-in-place') throw new UsageError(sub ? `Unknown "kargs" subcommand '${sub}'` : 'No "kargs" subcommand specified');
      const sysroot = await loadSysroot(a, true);
      if (sysroot.deployments.length === 0) throw new XylemError('Unable to find a deployment in sysroot');
      await appendKargsIfMissingInPlace(sysroot, a.p.list('append-if-missing'));
      return 0;
    },
  },
  'config-diff': {
    specs: [{ name: 'os', kind: 'string', arg: 'OSNAME', description: 'Operate on this stateroot (operating system name)' }],
    async run(a) {
      const sysroot = await loadSysroot(a);
      const d = sysroot.mergeDeployment(a.p.value('os') ?? null);
      if (!d) throw new XylemError('No deployment to diff');
      const diff = await configDiff(sysroot, d);
      let s = '';
      for (const x of diff.modified) s += `M    ${x}\n`;
      for (const x of diff.removed) s += `D    ${x}\n`;
      for (const x of diff.added) s += `A    ${x}\n`;
      a.ctx.out(s);
      return 0;
    },
  },
  'set-origin': {
    specs: [
      { name: 'set', short: 's', kind: 'strings', arg: 'KEY=VALUE', description: 'Set this option in the origin\'s section (repeatable)' },
      { name: 'index', kind: 'string', arg: 'INDEX', description: 'Deployment to change (default: the merge deployment)' },
    ],
    async run(a) {
      const [remote, url, branch] = a.p.positionals;
      if (!remote || !url) throw new UsageError('REMOTENAME and URL must be specified');
      const sysroot = await loadSysroot(a, true);
      const idx = a.p.value('index');
      const d = idx !== undefined ? deploymentAt(sysroot, parseDeploymentIndex(idx)) : sysroot.booted;
      if (!d) throw new XylemError('Not currently booted into an OSTree system');
      const options: Array<[string, string]> = [];
      for (const kv of a.p.list('set')) {
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`Invalid --set argument '${kv}'; expected KEY=VALUE`);
        options.push([kv.slice(0, eq), kv.slice(eq + 1)]);
      }
      await setOrigin(sysroot, d, remote, url, branch ?? null, options);
      return 0;
    },
  },
  upgrade: {
    specs: [
      { name: 'os', kind: 'string', arg: 'OSNAME', description: 'Operate on this stateroot (operating system name)' },
      { name: 'reboot', short: 'r', kind: 'flag', description: 'Reboot when done' },
      { name: 'allow-downgrade', kind: 'flag', description: 'Allow moving to an older commit' },
      { name: 'override-commit', kind: 'string', arg: 'COMMIT', description: 'Deploy this commit instead of the newest' },
      { name: 'pull-only', kind: 'flag', description: 'Only pull, do not deploy' },
      { name: 'deploy-only', kind: 'flag', description: 'Do not pull, deploy what was pulled' },
      { name: 'stage', kind: 'flag', description: 'Stage the deployment; finalize it at shutdown' },
    ],
    async run(a) {
      const p = a.p;
      if (p.flag('pull-only') && p.flag('deploy-only')) throw new UsageError('Cannot simultaneously specify --pull-only and --deploy-only');
      if (p.flag('reboot')) throw new XylemError('--reboot is not supported');
      const sysroot = await loadSysroot(a, true);
      const stage = p.flag('stage') || a.ctx.env.OSTREE_EX_STAGE_DEPLOYMENTS === '1';
      if (stage && !sysroot.booted) throw new XylemError('Cannot stage deployment: Not currently booted into an OSTree system');
      const r = await upgrade(sysroot, {
        osname: p.value('os') ?? null,
        overrideCommit: p.value('override-commit') ?? null,
        allowDowngrade: p.flag('allow-downgrade'),
        pullOnly: p.flag('pull-only'),
        deployOnly: p.flag('deploy-only'),
        stage,
        out: a.line,
        warn: (l) => a.ctx.err(`${l}\n`),
      });
      if (!r.changed && !p.flag('pull-only')) a.line('No update available.');
      return 0;
    },
  },
  'finalize-staged': {
    specs: [{ name: 'hold', kind: 'flag', description: 'Keep the staged deployment locked' }],
    async run(a) {
      // As ostree: only meaningful on a booted system (run by ostree-finalize-staged.service).
      if (!(await a.ctx.host.fs.stat('/run/ostree-booted'))) return 0;
      if (a.p.flag('hold')) throw new XylemError('--hold is not supported');
      const sysroot = await loadSysroot(a, true);
      await finalizeStaged(sysroot, a.line);
      return 0;
    },
  },
  'boot-complete': {
    specs: [],
    async run(a) {
      if (!(await a.ctx.host.fs.stat('/run/ostree-booted'))) return 0;
      await bootComplete(await loadSysroot(a, true));
      return 0;
    },
  },
  switch: {
    specs: [
      { name: 'os', kind: 'string', arg: 'OSNAME', description: 'Operate on this stateroot (operating system name)' },
      { name: 'reboot', short: 'r', kind: 'flag', description: 'Reboot when done' },
    ],
    async run(a) {
      const [target] = a.p.positionals;
      if (!target) throw new UsageError('REF must be specified');
      if (a.p.flag('reboot')) throw new XylemError('--reboot is not supported');
      const sysroot = await loadSysroot(a, true);
      const merge = sysroot.mergeDeployment(a.p.value('os') ?? null);
      if (!merge) throw new XylemError('No previous deployment to switch from');
      const origin = switchOrigin(merge.origin, target);
      await upgrade(sysroot, { osname: merge.osname, origin, allowDowngrade: true, out: a.line, warn: (l) => a.ctx.err(`${l}\n`) });
      // As ostree: the ref switched away from is dropped so nothing keeps pulling it.
      const oldRefspec = merge.origin!.get('origin', 'refspec')!;
      a.line(`Deleting ref '${oldRefspec}'`);
      await deleteRefFile(await sysroot.repo(), oldRefspec);
      return 0;
    },
  },
};

export const command: Command = {
  name: 'admin',
  summary: 'Commands for managing a host system booted with ostree',
  async run(ctx, argv) {
    let i = 0;
    while (i < argv.length && argv[i]!.startsWith('-')) i++;
    ctx.help = { ...ctx.help, specs: COMMON, subcommands: SUBCOMMANDS.map(([n, d]) => [n, d]) };
    const top = parseOptions(argv.slice(0, i), COMMON);
    const name = argv[i];
    const env = ctx.env;
    let sysrootPath = top.value('sysroot') ?? env.OSTREE_SYSROOT ?? '/';
    if (top.flag('print-current-dir')) {
      const s = await Sysroot.load(ctx.host, sysrootPath);
      const d = s.currentDeployment();
      if (!d) throw new XylemError('Not currently booted into an OSTree system');
      ctx.out(`${absolutePath(ctx, s.deploymentPath(d))}\n`);
      return 0;
    }
    if (name === undefined) throw new UsageError('No "admin" subcommand specified');
    const sub = subs[name];
    const row = SUBCOMMANDS.find(([n]) => n === name);
    if (!sub || !row) {
      if (argv.slice(i + 1).some((a) => a === '-h' || a === '--help')) throw new HelpRequested();
      throw new UsageError(`Unknown "admin" subcommand '${name}'`);
    }
    const names = new Set(sub.specs.map((s) => s.name));
    const specs = [...sub.specs, ...COMMON.filter((c) => !names.has(c.name) && c.name !== 'print-current-dir')];
    ctx.help = { path: ['admin', name], summary: row[1], params: row[2] ?? '', specs };
    const nested = NESTED[name];
    if (nested) {
      // `admin kargs edit-in-place …`: the help names the nested subcommand when there is one.
      const word = argv.slice(i + 1).find((a) => !a.startsWith('-'));
      const inner = nested.find(([n]) => n === word);
      if (inner) ctx.help = { path: ['admin', name, inner[0]], summary: inner[1], params: inner[2] ?? '', specs };
      else ctx.help.subcommands = nested.map(([n, d]) => [n, d]);
    }
    const p = parseSub(ctx, argv.slice(i + 1), sub.specs);
    if (nested && ctx.help.subcommands) {
      const word = p.positionals[0];
      throw new UsageError(word === undefined ? `No "admin ${name}" subcommand specified` : `Unknown "admin ${name}" subcommand '${word}'`);
    }
    sysrootPath = p.value('sysroot') ?? sysrootPath;
    const a: AdminCtx = { ctx, sysrootPath, p, line: (s) => ctx.out(`${s}\n`), loaded: [] };
    try {
      return await sub.run(a);
    } finally {
      // As libostree when the sysroot is finalized: the lock goes and its file is removed.
      for (const s of a.loaded) await s.unlock().catch(() => undefined);
    }
  },
};

/** Unlinks a ref file, leaving its folders (libostree's transaction_set_ref with no checksum). */
async function deleteRefFile(repo: Repo, refspec: string): Promise<void> {
  const { remote, ref } = parseRefspec(refspec);
  await repo.fs.unlink(refPath(repo, remote, ref)).catch((e) => {
    if (errnoCode(e) !== 'ENOENT') throw e;
  });
}

function absolutePath(_ctx: CliContext, p: string): string {
  if (p.startsWith('/')) return p;
  return `${process.cwd().replace(/\/$/, '')}/${p.replace(/^\.\//, '')}`;
}
