// rpm-xylem's layering verbs (rpm-ostree install, uninstall, override remove|replace|reset,
// reset, refresh-md): option parsing and wording only; the work is src/layer's layerTxn, run
// under the sysroot's transaction lock by the caller's `transaction` wrapper.

import { resolve as resolvePath } from 'node:path';
import type { OptionSpec, Parsed } from '../cli/options.ts';
import { UsageError } from '../cli/context.ts';
import { layerTxn, type LayerChange, type LayerTxnResult } from '../../src/layer/index.ts';
import type { TxnContext } from '../../src/updater/index.ts';

/** Resolving against the base's rpm-md snapshot (xylem's own; kept in the origin). */
export const SNAPSHOT_SPECS: OptionSpec[] = [
  { name: 'base-snapshot', kind: 'flag', description: "Resolve against the rpm-md snapshot the base was composed from (kept for later changes)" },
  { name: 'no-base-snapshot', kind: 'flag', description: 'Resolve against the repos as they are now (the default)' },
];

/** The snapshot policy the options ask for; undefined: keep the origin's. */
export function snapshotOption(p: Parsed): boolean | undefined {
  if (p.flag('base-snapshot') && p.flag('no-base-snapshot')) throw new UsageError('Cannot specify both --base-snapshot and --no-base-snapshot');
  return p.flag('base-snapshot') ? true : p.flag('no-base-snapshot') ? false : undefined;
}

const COMMON: OptionSpec[] = [
  { name: 'reboot', short: 'r', kind: 'flag', description: 'Initiate a reboot after operation is complete' },
  { name: 'dry-run', short: 'n', kind: 'flag', description: 'Exit after printing the transaction' },
  { name: 'cache-only', short: 'C', kind: 'flag', description: 'Do not download latest ostree and RPM data' },
  { name: 'unchanged-exit-77', kind: 'flag', description: 'If no overlays were changed, exit 77' },
  ...SNAPSHOT_SPECS,
];

export const INSTALL_SPECS: OptionSpec[] = [
  ...COMMON,
  { name: 'idempotent', kind: 'flag', description: 'Do nothing if package already (un)installed' },
  { name: 'allow-inactive', kind: 'flag', description: 'Allow inactive package requests' },
  { name: 'apply-live', short: 'A', kind: 'flag', description: 'Apply changes to both pending deployment and running filesystem tree' },
  { name: 'uninstall', kind: 'strings', arg: 'PKG', description: 'Remove overlayed package too (repeatable)' },
];
export const UNINSTALL_SPECS: OptionSpec[] = [
  ...COMMON,
  { name: 'idempotent', kind: 'flag', description: 'Do nothing if package not installed' },
  { name: 'all', kind: 'flag', description: 'Remove all overlayed additional packages' },
  { name: 'install', kind: 'strings', arg: 'PKG', description: 'Overlay additional package too (repeatable)' },
];
export const OVERRIDE_SPECS: OptionSpec[] = [
  ...COMMON,
  { name: 'all', short: 'a', kind: 'flag', description: 'Reset all active overrides (reset)' },
  { name: 'idempotent', kind: 'flag', description: 'Do nothing if the override already exists' },
];
export const RESET_SPECS: OptionSpec[] = [
  ...COMMON,
  { name: 'overlays', short: 'l', kind: 'flag', description: 'Remove all overlayed packages' },
  { name: 'overrides', short: 'o', kind: 'flag', description: 'Remove all overrides' },
  { name: 'initramfs', short: 'i', kind: 'flag', description: 'Stop regenerating initramfs or tracking files' },
];

/** What the verb needs of rpm-xylem's environment. */
export interface LayerEnv {
  /** `reset` of a deployment that is no client layer: the plain origin reset (src/updater). */
  plainReset?(title: string): Promise<number>;
  p: Parsed;
  cwd: string;
  env: Record<string, string | undefined>;
  run(title: string, fn: (ctx: TxnContext) => Promise<LayerTxnResult>): Promise<LayerTxnResult>;
  finish(r: LayerTxnResult, reboot: boolean, exit77: boolean): Promise<number>;
  /** `-A/--apply-live`: makes the new pending deployment's changes live (tools/rpm-xylem/live.ts). */
  applyLive?(): Promise<number>;
}

const optional = <K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> => (v === undefined ? {} : ({ [k]: v } as Record<K, V>));

const isLocal = (a: string) => a.endsWith('.rpm');

async function go(e: LayerEnv, title: string, change: LayerChange): Promise<number> {
  const live = e.p.flag('apply-live');
  if (live && !e.applyLive) throw new UsageError('--apply-live is not supported here');
  if (live && e.p.flag('reboot')) throw new UsageError('Cannot specify --apply-live and --reboot');
  const dry = e.p.flag('dry-run');
  const r = await e.run(title, (ctx) =>
    layerTxn(ctx, change, {
      dryRun: dry,
      cacheOnly: e.p.flag('cache-only'),
      ...optional('baseSnapshot', snapshotOption(e.p)),
      ...(e.env.XYLEM_LAYER_REPOS_DIR ? { reposDir: e.env.XYLEM_LAYER_REPOS_DIR } : {}),
    }),
  );
  if (dry) return 0;
  if (live && r.changed) return e.applyLive!();
  return e.finish(r, e.p.flag('reboot'), e.p.flag('unchanged-exit-77'));
}

function split(e: LayerEnv, args: string[]): { specs: string[]; locals: string[] } {
  return { specs: args.filter((a) => !isLocal(a)), locals: args.filter(isLocal).map((a) => resolvePath(e.cwd, a)) };
}

export async function runInstall(e: LayerEnv, title: string): Promise<number> {
  const args = e.p.positionals;
  if (args.length === 0) throw new UsageError('At least one PACKAGE must be specified');
  const { specs, locals } = split(e, args);
  return go(e, title, { install: specs, installLocal: locals, uninstall: e.p.list('uninstall'), idempotent: e.p.flag('idempotent'), allowInactive: e.p.flag('allow-inactive') });
}

export async function runUninstall(e: LayerEnv, title: string): Promise<number> {
  const args = e.p.positionals;
  const all = e.p.flag('all');
  if (args.length === 0 && !all) throw new UsageError('At least one PACKAGE must be specified');
  if (args.length > 0 && all) throw new UsageError('Cannot specify packages with --all');
  const { specs, locals } = split(e, e.p.list('install'));
  return go(e, title, { uninstall: args, resetOverlays: all, install: specs, installLocal: locals, idempotent: e.p.flag('idempotent') });
}

export async function runOverride(e: LayerEnv, title: string): Promise<number> {
  const [sub, ...args] = e.p.positionals;
  if (sub === 'remove') {
    if (args.length === 0) throw new UsageError('At least one PACKAGE must be specified');
    const { specs, locals } = split(e, args);
    return go(e, title, { removes: specs, replaceLocal: locals, idempotent: e.p.flag('idempotent') });
  }
  if (sub === 'replace') {
    if (args.length === 0) throw new UsageError('At least one PACKAGE must be specified');
    const bad = args.find((a) => !isLocal(a));
    if (bad) throw new UsageError(`Only local .rpm files can replace base packages in rpm-xylem ('${bad}')`);
    return go(e, title, { replaceLocal: split(e, args).locals });
  }
  if (sub === 'reset') {
    const all = e.p.flag('all');
    if (args.length === 0 && !all) throw new UsageError('At least one PACKAGE must be specified');
    if (args.length > 0 && all) throw new UsageError('Cannot specify packages with --all');
    return go(e, title, { resetOverrides: args, resetAllOverrides: all });
  }
  throw new UsageError(sub === undefined ? 'No subcommand specified (remove, replace, reset)' : `Unknown "override" subcommand "${sub}"`);
}

export async function runReset(e: LayerEnv, title: string): Promise<number> {
  if (e.p.positionals.length) throw new UsageError(`Unexpected argument '${e.p.positionals[0]}'`);
  const overlays = e.p.flag('overlays');
  const overrides = e.p.flag('overrides');
  const everything = !overlays && !overrides && !e.p.flag('initramfs');
  if (everything && e.plainReset) return e.plainReset(title);
  return go(e, title, { resetOverlays: overlays || everything, resetAllOverrides: overrides || everything, resetInitramfs: e.p.flag('initramfs') || everything });
}
