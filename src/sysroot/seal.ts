// Deployment roots are sealed with the immutable flag (libostree's "Seal it" at the end of
// sysroot_finalize_deployment) unless OSTREE_SYSROOT_DEBUG=mutable-deployments; the flag is taken
// off again right before a root is deleted (cleanup, a dropped staged deployment, a failed
// deploy). Hosts without the capability, or file systems without the flag, skip both silently.

import type { Deployment } from './deployment.ts';
import type { Sysroot } from './sysroot.ts';

type DeploymentIdent = Pick<Deployment, 'osname' | 'csum' | 'deployserial'>;

/** Sets the immutable flag on the deployment's root (when the host and file system can). */
export async function sealDeployment(sysroot: Sysroot, d: DeploymentIdent): Promise<void> {
  if (sysroot.debug.mutableDeployments || !sysroot.fs.setImmutable) return;
  await sysroot.fs.setImmutable(sysroot.deploymentPath(d), true);
}

/**
 * Deletes a deployment's origin file and root folder — the origin first, so a half-deleted folder
 * is still recognisably unreferenced — clearing the root's immutable flag before. Missing files
 * are fine. The caller decides that nothing uses the deployment.
 */
export async function removeDeploymentFiles(sysroot: Sysroot, d: DeploymentIdent): Promise<void> {
  const fs = sysroot.fs;
  const root = sysroot.deploymentPath(d);
  await fs.rmrf(sysroot.originPath(d));
  const st = await fs.lstat(root);
  if (!st) return;
  if (st.kind === 'dir' && fs.setImmutable) await fs.setImmutable(root, false);
  await fs.rmrf(root);
}
