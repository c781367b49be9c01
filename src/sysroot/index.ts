// The sysroot layer (the host updater's engine): loading a sysroot, creating deployments,
// publishing boot sets atomically, /etc merge, cleanup, upgrade, status.

export { Sysroot, parseSysrootDebug, commitStringMeta } from './sysroot.ts';
export type { SysrootDebug, SysrootLoadOptions } from './sysroot.ts';
export type { Deployment } from './deployment.ts';
export { deploymentRelPath, originRelPath, deploymentsEqual, isPinned, originRefspec, validateOsname } from './deployment.ts';
export { initFs, initStateroot } from './init.ts';
export type { InitFsOptions } from './init.ts';
export { deployTree, cleanOrigin, initializeDeployment, finalizeDeployment } from './deploy.ts';
export {
  stageTree,
  finalizeStaged,
  bootComplete,
  readFinalizeFailure,
  encodeStagedState,
  decodeStagedState,
  stagedPath,
  stagedLockedPath,
  FINALIZE_FAILURE_STAMP,
} from './staged.ts';
export type { StageTreeOptions, StagedState, DeploymentStub, FinalizeResult } from './staged.ts';
export type { DeployTreeOptions } from './deploy.ts';
export { deploy } from './deploy-ref.ts';
export type { DeployOptions } from './deploy-ref.ts';
export { writeDeployments, simpleWriteDeployment, planNewDeploymentList } from './write.ts';
export { parseOsRelease } from './os-release.ts';
export type { WriteDeploymentsOptions, SimpleWriteOptions, WriteResult } from './write.ts';
export { cleanupSysroot, generateDeploymentRefs } from './cleanup.ts';
export type { CleanupOptions, CleanupResult } from './cleanup.ts';
export { KernelArgs, kargsFromProcCmdline, splitCmdline } from './kargs.ts';
export { BootConfig, parseOstreeKarg } from './bootconfig.ts';
export { diffDirs, applyEtcDiff } from './etc-merge.ts';
export type { EtcDiff } from './etc-merge.ts';
export { findKernel, computeBootcsum } from './kernel.ts';
export { stageOverlayInitrd, stageOverlayInitrdBytes, overlayBootPath, validateOverlayInitrds, BOOT_OVERLAYS_DIR } from './overlay-initrd.ts';
export { bootSpaceNeeded, checkBootSpace } from './space.ts';
export type { BootSpace } from './space.ts';
export type { KernelLayout } from './kernel.ts';
export {
  undeploy,
  setDefault,
  setPinned,
  setKargsInPlace,
  setKargs,
  appendKargsIfMissingInPlace,
  configDiff,
  setOrigin,
  writeOrigin,
  deploymentAt,
  parseDeploymentIndex,
} from './ops.ts';
export { upgrade, switchOrigin } from './upgrade.ts';
export type { UpgradeOptions, UpgradeResult } from './upgrade.ts';
export { formatStatus } from './status.ts';
export { detectBootloader } from './bootloader/index.ts';
export type { Bootloader, BootloaderWriteContext } from './bootloader/index.ts';
export { unlockDeployment, unlockMessage, requireBooted, deploymentUnlockedState, deploymentRunstateDir, transientOverlayDirs, remountTransientOverlay, USR_MOUNTPOINT } from './unlock.ts';
export type { UnlockedState, UnlockTarget, UnlockOptions } from './unlock.ts';
