// Compose (rpm-ostree `compose tree` and `db`), the public surface: load a treefile, resolve it
// against rpm-md repos, plan, execute with the host's services; read package lists of commits.

export { loadTreefile, printTreefile, normalizePath } from './treefile.ts';
export type { Treefile, LoadTreefileOptions } from './treefile.ts';
export { planCompose, executeCompose, inputHash, nextVersion } from './compose.ts';
export type { ComposePlan, PlannedPackage, PlanOptions, ExecuteOptions, ComposeResult, PackageResolver, Resolution, ResolvedPackage, RpmmdRepoInfo } from './compose.ts';
export { rpmmdResolver } from './resolve.ts';
export type { RpmmdResolverOptions } from './resolve.ts';
export { composeServices, sandboxScriptRunner, rpmdbWriter, toScriptPackage } from './services.ts';
export type { AssembleServices, ScriptRunner, RpmdbWriter } from './assemble.ts';
export type { ComposeEvent, ComposePhase } from './events.ts';
export type { ComposePackage, ComposeFile, ComposeEntry } from './package.ts';
export { importPackage, packageCommitMetadata } from './pkgcache.ts';
export type { ImportOptions, ImportResult } from './pkgcache.ts';
export { openRpmFile, openCachedPackage } from './open.ts';
export { pkgcacheRef, parsePkgcacheRef, escapeRefComponent, unescapeRefComponent } from './escape.ts';
export { translatePath } from './translate.ts';
export { dbDiff, dbList, commitPackages } from './db.ts';
export { diffPackages, renderDiffBlock, renderDiffLines, renderDiffJson, renderDiffHeader, diffSummary } from './dbdiff.ts';
export type { PackageDiff } from './dbdiff.ts';
export { readPkglist, PKGLIST_KEY } from './pkglist.ts';
