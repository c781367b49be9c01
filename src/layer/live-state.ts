// apply-live's record of what the running /usr holds, as rpm-ostree keeps it (rust/src/live.rs):
// an empty stamp file RUNDIR/deployment-state/CSUM.SERIAL/rpmostree-is-live.stamp says the booted
// deployment was changed live (it vanishes with /run at reboot), and two refs in the system repo
// say what: `rpmostree/live-apply` (the commit now live) and `rpmostree/live-apply-inprogress` (the
// commit an apply is copying in; left set by an interrupted apply). Status shows them as
// LiveCommit / InterruptedLiveCommit; JSON as live-replaced / live-inprogress.

import type { Repo } from '../repo/repo.ts';
import { resolveRev, setRef } from '../repo/refs.ts';
import type { Deployment } from '../sysroot/deployment.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import { deploymentRunstateDir } from '../sysroot/unlock.ts';
import { writeTextAtomic } from '../sysroot/fsutil.ts';
import { joinPath } from '../util/path.ts';

export const LIVE_STATE_NAME = 'rpmostree-is-live.stamp';
export const LIVE_REF = 'rpmostree/live-apply';
export const LIVE_REF_INPROGRESS = 'rpmostree/live-apply-inprogress';

export interface LiveApplyState {
  /** The commit whose /usr the running system shows ('' when none). */
  commit: string;
  /** The commit an apply was copying in when it stopped ('' when none). */
  inprogress: string;
}

/** The live state of deployment `d` (null when it was never changed live in this boot). */
export async function readLiveState(sysroot: Sysroot, repo: Repo, d: Pick<Deployment, 'csum' | 'deployserial'>): Promise<LiveApplyState | null> {
  // Only the running system's run folder says anything about its deployments.
  if (!sysroot.runningDeployment) return null;
  const stamp = joinPath(deploymentRunstateDir(sysroot, d), LIVE_STATE_NAME);
  if (!(await sysroot.fs.lstat(stamp).catch(() => null))) return null;
  const commit = (await resolveRev(repo, LIVE_REF, true)) ?? '';
  const inprogress = (await resolveRev(repo, LIVE_REF_INPROGRESS, true)) ?? '';
  return { commit, inprogress };
}

/**
 * Records `state` for `d`: both refs (an empty value deletes one), then the stamp file when
 * either is set. As rpm-ostree, nothing is written when `d` has no run state folder (it was
 * never unlocked in this boot).
 */
export async function writeLiveState(sysroot: Sysroot, repo: Repo, d: Pick<Deployment, 'csum' | 'deployserial'>, state: LiveApplyState): Promise<void> {
  const dir = deploymentRunstateDir(sysroot, d);
  const st = await sysroot.fs.lstat(dir).catch(() => null);
  if (!st || st.kind !== 'dir') return;
  await setRef(repo, null, LIVE_REF, state.commit || null);
  await setRef(repo, null, LIVE_REF_INPROGRESS, state.inprogress || null);
  const stamp = joinPath(dir, LIVE_STATE_NAME);
  if ((state.commit || state.inprogress) && !(await sysroot.fs.lstat(stamp).catch(() => null))) await writeTextAtomic(sysroot.fs, stamp, '');
}
