// RPM scriptlets for compose and layering: plan (which scripts, in which order, under
// rpm-ostree's policy), run (sandboxed shell, confined Lua), file-trigger matching, events.

export { planScripts, validateTransaction } from './plan.ts';
export type { PlanOptions, ScriptPlan, ScriptStep, SkippedScript } from './plan.ts';
export { runScripts, sanityCheckRoot, scriptEnvironment, ScriptError } from './run.ts';
export type { RunScriptsOptions, ScriptRunSummary } from './run.ts';
export { scriptIsIgnored, luaReplacement, luaScriptHasSkip } from './policy.ts';
export { matchingPaths } from './file-triggers.ts';
export { evrSatisfies, firedTriggerins } from './triggers.ts';
export type { FiredTrigger } from './triggers.ts';
export { MacroTable, defaultMacros } from './macros.ts';
export { rpmvercmp, evrCompare } from './vercmp.ts';
export { runLuaScript } from './lua/run-lua.ts';
export type { LuaRunOptions } from './lua/run-lua.ts';
export { scriptPackageFromHeader } from './from-header.ts';
export type { HeaderScriptlet, HeaderTrigger } from './from-header.ts';
export type { PackageAction, FileTrigger, Scriptlet, PackageTrigger, ScriptEvent, ScriptletKind, ScriptPackage, ScriptPhase } from './types.ts';
