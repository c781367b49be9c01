// Xylem's public API (`import … from 'xylem'`): everything a program needs to keep an OSTree
// repository and a booted system up to date, readable in one sitting. The engine is
// runtime-neutral: every function reaches files, hashing and the network through a Host, which you
// get from 'xylem/node' (Node, Bun, Deno), 'xylem/memory' (in-memory) or 'xylem/browser'.
//
//   const repo = await Repo.init(host, '/srv/repo', { mode: 'archive' });     // or Repo.open
//   const { checksum } = await commitDirectory(repo, '/build/rootfs', { branch: 'os/stable', subject: 'v1' });
//   await checkout(repo, 'os/stable', '/tmp/co');
//   await addRemote(client, 'origin', 'https://example.com/repo', { options: { 'gpg-verify': 'false' } });
//   await pull(client, 'origin', { refs: ['os/stable'], onProgress: (p) => … });   // signature policy applied
//   await signCommit(signer, repo, checksum); await verifyCommit(signer, repo, checksum);
//   await generateDelta(repo, { from, to }); await applyDeltaOffline(other, path);
//   const sysroot = await Sysroot.load(host, '/'); await deploy(sysroot, 'origin:os/stable', { osname: 'os' });
//   await upgrade(sysroot); await rollback(sysroot);
//
// Every package also has its own index (src/repo, src/pull, src/remote, src/sign, src/delta,
// src/sysroot, src/updater, src/audit, src/format) with the lower-level pieces.

// ---- hosts and errors --------------------------------------------------------------------------
export type { Host, FsHost, HashProvider, DeflateProvider, HttpClient, Stat, FileKind } from './host.ts';
export { XylemError, CorruptionError, NotFoundError } from './util/errors.ts';

// ---- repositories ------------------------------------------------------------------------------
export { Repo, REPO_MODES, commitDirectory, Transaction, MutableTree, importDirectory, makeImportContext, writeCommit } from './repo/index.ts';
export type { RepoMode, RepoInitOptions, CommitDirectoryOptions, CommitDirectoryResult, CommitModifier, CommitOptions } from './repo/index.ts';
export { checkout, resolveRev, setRef, listAllRefs, listLocalRefs, diffTrees, formatDiff, fsckRepo } from './repo/index.ts';
export type { CheckoutOptions, CheckoutResult, RefEntry, DiffResult, DiffItem, DiffSide, FsckOptions, FsckResult } from './repo/index.ts';
export { pruneRepo, regenerateSummary } from './maintenance/index.ts';
export type { PruneOptions, PruneResult } from './maintenance/index.ts';

// ---- SELinux labelling (commit modifier `sepolicy`) -------------------------------------------
export { loadPolicyFromDirectory, loadPolicyFromCommit, labelFor } from './selinux/index.ts';
export type { SePolicy, LabelOptions } from './selinux/index.ts';

// ---- remotes and pulling -----------------------------------------------------------------------
export { addRemote, deleteRemote, listRemotes, getRemote, importRemoteGpgKeys } from './remote/index.ts';
export type { Remote, AddRemoteOptions } from './remote/index.ts';
/** Pulls from a remote with its signature policy (gpg-verify, sign-verify, gpg-verify-summary) applied. */
export { pull } from './pull/pull.ts';
export { formatPullProgressLine, formatPullStatus } from './pull/progress.ts';
export type { PullOptions, PullResult, PulledRef } from './pull/options.ts';
/** The progress events of a pull (`onProgress`): counters as libostree's OstreeAsyncProgress. */
export type { PullProgress } from './pull/progress.ts';

// ---- signatures --------------------------------------------------------------------------------
export { getSigner, generateEd25519KeyPair, signCommit, verifyCommit, signSummary, gpgSignCommit, gpgSignSummary, verifyCommitGpg, GpgError } from './sign/index.ts';
export type { Signer, SignerName, SignKey, Ed25519KeyPair, GpgSignCommitOptions, VerifyCommitGpgOptions } from './sign/index.ts';

// ---- static deltas -----------------------------------------------------------------------------
export { generateDelta, applyDeltaOffline, listDeltas, deleteDelta } from './delta/index.ts';
export type { GenerateDeltaOptions, GenerateDeltaResult, ApplyDeltaOptions, ApplyResult } from './delta/index.ts';

// ---- sysroots: deploy, upgrade, roll back ------------------------------------------------------
export { Sysroot, initFs, initStateroot, deploy, upgrade, cleanupSysroot, undeploy, formatStatus } from './sysroot/index.ts';
export type { Deployment, DeployOptions, UpgradeOptions, UpgradeResult, InitFsOptions, CleanupOptions, CleanupResult } from './sysroot/index.ts';
export { rollback } from './updater/rollback.ts';
export type { RollbackOptions, RollbackResult } from './updater/rollback.ts';

// ---- auditing a served commit (also in browsers) ----------------------------------------------
export { auditCommit } from './audit/index.ts';
/** The progress events of an audit (`onProgress`). */
export type { AuditOptions, AuditReport, AuditProgress } from './audit/index.ts';

// ---- RPM packages ------------------------------------------------------------------------------
/** Read a .rpm: headers up front, typed views, payload streamed entry by entry (more in src/rpm). */
export { parseRpm, openRpm, RpmPackage, RpmError } from './rpm/index.ts';
export type { RpmPackageInfo, RpmFile, PayloadEntry, Nevra, Dependency, PackageDependencies } from './rpm/index.ts';

// ---- composing trees from RPMs (rpm-ostree compose tree, db diff) ------------------------------
/** Treefile → resolved packages → plan (inspectable) → package cache, assembly, commit. */
export { loadTreefile, planCompose, executeCompose, rpmmdResolver, composeServices, dbDiff } from './compose/index.ts';
export type { Treefile, ComposePlan, ComposeEvent, PackageResolver } from './compose/index.ts';

// ---- client-side package layering (rpm-ostree install / uninstall / override / reset) ----------
export { layerTxn, readLayerRequest, writeLayerRequest, resolveLayer, buildLayeredCommit, baseCommitOf, readBaseSnapshot } from './layer/index.ts';
export type { LayerRequest, LayerChange, LayerTxnOptions, LayerTxnResult } from './layer/index.ts';

// ---- formats and small helpers -----------------------------------------------------------------
export { KeyFile } from './format/keyfile.ts';
export { ObjectType } from './format/objects.ts';
export { formatSize } from './util/format-size.ts';
export { writeFileAtomic } from './util/atomic-write.ts';
export { concatBytes, toHex, fromHex } from './util/bytes.ts';
