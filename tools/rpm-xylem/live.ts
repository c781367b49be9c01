// rpm-xylem's live verbs: `apply-live [--target=REV] [--reset] [--allow-replacement]` (rpm-ostree
// apply-live, also `ex apply-live`) and `usroverlay [--hotfix|--transient]` (alias `unlock`: what
// rpm-ostree execs, `ostree admin unlock`). Option parsing and wording only; the work is
// src/layer/live.ts and src/sysroot/unlock.ts, run under the sysroot's transaction lock.

import type { OptionSpec, Parsed } from '../cli/options.ts';
import { UsageError } from '../cli/context.ts';
import { applyLive, type ApplyLiveResult } from '../../src/layer/live.ts';
import { requireBooted, unlockDeployment, unlockMessage } from '../../src/sysroot/unlock.ts';
import type { TxnContext } from '../../src/updater/index.ts';
import { XylemError } from '../../src/util/errors.ts';

export const APPLY_LIVE_SPECS: OptionSpec[] = [
  { name: 'target', kind: 'string', arg: 'TARGET', description: 'Target provided commit instead of pending deployment' },
  { name: 'reset', kind: 'flag', description: 'Reset back to booted commit' },
  { name: 'allow-replacement', kind: 'flag', description: 'Allow replacement of packages/files (default is pure additive)' },
];

export const USROVERLAY_SPECS: OptionSpec[] = [
  { name: 'hotfix', kind: 'flag', description: 'Retain changes across reboots' },
  { name: 'transient', kind: 'flag', description: 'Mount overlayfs read-only by default' },
];

/** What the verbs need of rpm-xylem's environment. */
export interface LiveEnv {
  p: Parsed;
  env: Record<string, string | undefined>;
  run<T>(title: string, fn: (ctx: TxnContext) => Promise<T>): Promise<T>;
  line(s: string): void;
}

/** Crash points for tests: XYLEM_TEST_LIVE_KILL_AT=STEP SIGKILLs the process at that step. */
function killAt(env: Record<string, string | undefined>): ((step: string) => Promise<void>) | undefined {
  const at = env.XYLEM_TEST_LIVE_KILL_AT;
  if (!at) return undefined;
  return async (step) => {
    if (step === at) process.kill(process.pid, 'SIGKILL');
  };
}

/** apply-live with explicit options (also used by `install -A`). */
export async function applyLiveWith(e: LiveEnv, title: string, opts: { target?: string; reset?: boolean; allowReplacement?: boolean }): Promise<ApplyLiveResult> {
  const checkpoint = killAt(e.env);
  return e.run(title, (ctx) =>
    applyLive(ctx.sysroot, {
      ...opts,
      out: ctx.out,
      checkpoint: async (step) => {
        ctx.token.throwIfCancelled();
        if (checkpoint) await checkpoint(step);
      },
    }),
  );
}

export async function runApplyLive(e: LiveEnv, title: string): Promise<number> {
  if (e.p.positionals.length) throw new UsageError(`Unexpected argument '${e.p.positionals[0]}'`);
  const target = e.p.value('target');
  const reset = e.p.flag('reset');
  if (target !== undefined && reset) throw new UsageError('Cannot specify both --target and --reset');
  await applyLiveWith(e, title, { ...(target !== undefined ? { target } : {}), reset, allowReplacement: e.p.flag('allow-replacement') });
  return 0;
}

export async function runUsroverlay(e: LiveEnv, title: string): Promise<number> {
  if (e.p.positionals.length) throw new UsageError('This command takes no extra arguments');
  if (e.p.flag('hotfix') && e.p.flag('transient')) throw new XylemError('Cannot specify both --hotfix and --transient');
  const state = e.p.flag('hotfix') ? 'hotfix' : e.p.flag('transient') ? 'transient' : 'development';
  await e.run(title, async (ctx) => unlockDeployment(ctx.sysroot, requireBooted(ctx.sysroot), state, { out: ctx.out }));
  e.line(unlockMessage(state));
  return 0;
}
