// rpm-xylem's `initramfs` and `initramfs-etc` verbs (rpm-ostree's rpmostree-builtin-initramfs.cxx
// and rpmostree-builtin-initramfs-etc.cxx): without a change option they print the pending
// deployment's state in rpm-ostree's words; with one they run the layering transaction
// (src/layer/txn.ts) with the initramfs change. --reboot is refused where there is nothing booted.

import type { OptionSpec } from '../cli/options.ts';
import { UsageError } from '../cli/context.ts';
import type { KeyFile } from '../../src/format/keyfile.ts';
import { layerTxn, readInitramfsRequest, type LayerChange } from '../../src/layer/index.ts';
import { XylemError } from '../../src/util/errors.ts';
import type { LayerEnv } from './layer.ts';

export const INITRAMFS_SPECS: OptionSpec[] = [
  { name: 'enable', kind: 'flag', description: 'Enable regenerating initramfs locally using dracut' },
  { name: 'arg', kind: 'strings', arg: 'ARG', description: 'Append ARG to the dracut arguments' },
  { name: 'disable', kind: 'flag', description: 'Disable regenerating initramfs locally' },
  { name: 'reboot', short: 'r', kind: 'flag', description: 'Initiate a reboot after operation is complete' },
];

export const INITRAMFS_ETC_SPECS: OptionSpec[] = [
  { name: 'force-sync', kind: 'flag', description: 'Deploy a new tree with the latest tracked /etc files' },
  { name: 'track', kind: 'strings', arg: 'FILE', description: 'Track root /etc file' },
  { name: 'untrack', kind: 'strings', arg: 'FILE', description: 'Untrack root /etc file' },
  { name: 'untrack-all', kind: 'flag', description: 'Untrack all root /etc files' },
  { name: 'reboot', short: 'r', kind: 'flag', description: 'Initiate a reboot after operation is complete' },
  { name: 'unchanged-exit-77', kind: 'flag', description: 'If no new deployment made, exit 77' },
];

/** What these verbs need beyond the layering environment. */
export interface InitramfsEnv extends LayerEnv {
  /** The origin of the stateroot's pending (first) deployment, and how many deployments there are. */
  pending(): Promise<{ origin: KeyFile | null; count: number }>;
  /** Whether the sysroot is the booted system (a reboot means something). */
  isBooted(): Promise<boolean>;
  out(line: string): void;
}

async function change(e: InitramfsEnv, title: string, c: LayerChange, exit77: boolean): Promise<number> {
  const reboot = e.p.flag('reboot');
  if (reboot && !(await e.isBooted())) throw new XylemError('--reboot: this sysroot is not the booted system; there is nothing to reboot', 'ENOTBOOTED');
  const opts = e.env.XYLEM_LAYER_REPOS_DIR ? { reposDir: e.env.XYLEM_LAYER_REPOS_DIR } : {};
  const r = await e.run(title, (ctx) => layerTxn(ctx, c, opts));
  return e.finish(r, reboot, exit77);
}

export async function runInitramfs(e: InitramfsEnv, title: string): Promise<number> {
  const p = e.p;
  if (p.positionals.length) throw new UsageError(`Unexpected argument '${p.positionals[0]}'`);
  const enable = p.flag('enable');
  const disable = p.flag('disable');
  const args = p.list('arg');
  if (!enable && !disable) {
    if (p.flag('reboot')) throw new UsageError('--reboot must be used with --enable or --disable');
    if (args.length) throw new UsageError('--arg must be used with --enable');
    const { origin, count } = await e.pending();
    // As rpm-ostree: the pending deployment's request, looked at only when there are two or more.
    const r = count > 1 ? readInitramfsRequest(origin) : null;
    e.out(`Initramfs regeneration: ${r?.regenerate ? 'enabled' : 'disabled'}`);
    if (r?.regenerate && r.args.length) e.out(`Initramfs args: ${r.args.map((a) => `${a} `).join('')}`);
    return 0;
  }
  if (enable && disable) throw new UsageError('Cannot simultaenously specify --enable and --disable');
  if (disable && args.length) throw new UsageError('Cannot simultaenously specify --disable and --arg');
  const code = await change(e, title, { initramfs: enable ? { enable: true, args } : { disable: true } }, false);
  if (code === 0) {
    e.out(`Initramfs regeneration is now: ${enable ? 'enabled' : 'disabled'}`);
    if (!enable) e.out('Initramfs will be reset to default on next reboot.');
  }
  return code;
}

export async function runInitramfsEtc(e: InitramfsEnv, title: string): Promise<number> {
  const p = e.p;
  if (p.positionals.length) throw new UsageError(`Unexpected argument '${p.positionals[0]}'`);
  const track = p.list('track');
  const untrack = p.list('untrack');
  const untrackAll = p.flag('untrack-all');
  const forceSync = p.flag('force-sync');
  if (!track.length && !untrack.length && !untrackAll && !forceSync) {
    if (p.flag('reboot')) throw new UsageError('Cannot use ---reboot without --track, --untrack, --untrack-all, or --force-sync');
    const { origin, count } = await e.pending();
    const files = count > 0 ? readInitramfsRequest(origin).etc : [];
    if (files.length === 0) e.out('No tracked files.');
    else e.out(`Tracked files:\n${files.map((f) => `  ${f}`).join('\n')}`);
    return 0;
  }
  return change(e, title, { initramfs: { track, untrack, untrackAll }, forceSync }, p.flag('unchanged-exit-77'));
}
