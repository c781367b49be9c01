// Which scriptlets a compose/layering transaction runs, in which order, with which arguments:
// rpm-ostree's model (rpmostree-core.cxx assemble + rpmostree-scripts.cxx). All %pre of the new
// packages in transaction order, then all %post, then all %posttrans, then %transfiletriggerin of
// the base packages and the new ones. *un scripts, %pretrans, %verifyscript and %filetrigger*
// never run; %triggerin/%triggerprein make the transaction fail (or, by option, are skipped, or
// %triggerin runs as rpm fires it: triggers.ts); an ignore list and built-in
// replacements apply; a scriptlet with an interpreter but no body (`%post -p /sbin/ldconfig`) does
// not run, since rpm-ostree reads the body tag. `$1` is 1 on install, 2 on upgrade or downgrade. Pure: a test can read the
// plan; run.ts carries it out.

import { XylemError } from '../../util/errors.ts';
import { isLua, luaReplacement, luaScriptHasSkip, RUN_KINDS, scriptIsIgnored, scriptIsSuppressed } from './policy.ts';
import { firedTriggerins } from './triggers.ts';
import { ScriptFlag, type Scriptlet, type ScriptPackage, type ScriptPhase } from './types.ts';

/** One script to run. */
export interface ScriptStep {
  phase: ScriptPhase;
  kind: 'script' | 'transfiletriggerin';
  pkg: string;
  /** `<pkg>.<script>`: the output prefix and the ignore-list key. */
  id: string;
  /** `%prein`, `%post`, `%posttrans`, `%transfiletriggerin`. */
  desc: string;
  /** Interpreter path, or `<lua>`. */
  interpreter: string;
  body: string;
  /** Expand macros in the body before running. */
  expand: boolean;
  /** `$1` ('1' install, '2' upgrade/downgrade); null for file triggers. */
  arg: string | null;
  /** `$2` of a %triggerin (instances of the package that set it off). */
  arg2?: string;
  /** %triggerin: the package that set it off. */
  triggeredBy?: string;
  /** File triggers: path prefixes without the leading '/' (only those under usr/, not usr/local). */
  prefixes?: string[];
  priority?: number;
}

/** A script that exists but does not run, and why. */
export interface SkippedScript {
  pkg: string;
  id: string;
  reason: 'ignored' | 'suppressed' | 'rpm-ostree-skip' | 'not-run-by-rpm-ostree' | 'no-body';
}

export interface ScriptPlan {
  steps: ScriptStep[];
  skipped: SkippedScript[];
}

export interface PlanOptions {
  /** The transaction's new packages (installs, upgrades, downgrades) in transaction order. */
  packages: ScriptPackage[];
  /** Packages already in the root (the base): only their %transfiletriggerin run. */
  installed?: ScriptPackage[];
  /** Kernel %posttrans scripts run (boot-location kernel-install); rpm-ostree skips them otherwise. */
  useKernelInstall?: boolean;
  /**
   * %triggerin/%triggerprein: 'reject' (rpm-ostree's stated policy: the transaction fails), 'skip'
   * (what rpm-ostree ends up doing: its check looks at rpm's internal tags, so they never run), or
   * 'run' (%triggerin as rpm fires it, after all %post; %triggerprein is still refused).
   * Default 'reject'.
   */
  triggerin?: 'reject' | 'skip' | 'run';
}

const MAX_PACKAGES = 200_000;
const MAX_BODY = 16 << 20;

/** rpm-ostree's refusal of %triggerin/%triggerprein (rpmostree_script_txn_validate). */
export function validateTransaction(packages: ScriptPackage[], useKernelInstall = false, allowTriggerin = false): void {
  for (const p of packages) {
    for (const [kind, desc] of [
      ['prein', '%triggerprein'],
      ['in', '%triggerin'],
    ] as const) {
      if (allowTriggerin && kind === 'in') continue;
      if (!p.triggers.some((t) => t.kind === kind)) continue;
      if (scriptIsIgnored(p.name, desc, useKernelInstall)) continue;
      throw new XylemError(`Package '${p.name}' has (currently) unsupported script of type '${desc}'; see https://github.com/coreos/rpm-ostree/issues/749`, 'ESCRIPT_UNSUPPORTED');
    }
  }
}

function checkPackage(p: ScriptPackage): void {
  if (p === null || typeof p !== 'object' || typeof p.name !== 'string' || p.name === '' || /[\s/]/.test(p.name))
    throw new XylemError(`scripts: bad package name ${JSON.stringify((p as { name?: unknown })?.name)}`, 'EINVAL');
  if (p.action !== 'install' && p.action !== 'upgrade' && p.action !== 'downgrade') throw new XylemError(`scripts: ${p.name}: bad action ${String(p.action)}`, 'EINVAL');
  if (!Array.isArray(p.triggers) || !Array.isArray(p.fileTriggers) || typeof p.scripts !== 'object') throw new XylemError(`scripts: ${p.name}: scripts, triggers and fileTriggers are required`, 'EINVAL');
  const all: Scriptlet[] = [...Object.values(p.scripts), ...p.triggers.map((t) => t.script), ...p.fileTriggers.map((t) => t.script)];
  for (const s of all) {
    if (!s || typeof s.body !== 'string' || !Array.isArray(s.interpreter)) throw new XylemError(`scripts: ${p.name}: malformed script`, 'EINVAL');
    if (s.body.length > MAX_BODY) throw new XylemError(`scripts: ${p.name}: a script body is larger than 16 MiB`, 'E2BIG');
  }
}

/** Resolves Lua skip comments and replacements; null when the script does not run. */
function resolveScript(pkg: ScriptPackage, id: string, script: Scriptlet, skipped: SkippedScript[]): { interpreter: string; body: string; expand: boolean } | null {
  let expand = (script.flags & ScriptFlag.EXPAND) !== 0;
  if (isLua(script)) {
    if (luaScriptHasSkip(script.body)) {
      skipped.push({ pkg: pkg.name, id, reason: 'rpm-ostree-skip' });
      return null;
    }
    const r = luaReplacement(pkg.name, id.slice(pkg.name.length + 1));
    if (r) return { interpreter: r.interpreter, body: r.body, expand: r.expand || expand };
    return { interpreter: '<lua>', body: script.body, expand };
  }
  if (scriptIsSuppressed(pkg.name, id.slice(pkg.name.length + 1), pkg.release)) {
    skipped.push({ pkg: pkg.name, id, reason: 'suppressed' });
    return null;
  }
  return { interpreter: script.interpreter[0] || '/bin/sh', body: script.body, expand };
}

/** Plans the scripts of a transaction (see the file comment). Throws on %triggerin/%triggerprein. */
export function planScripts(opts: PlanOptions): ScriptPlan {
  if (opts === null || typeof opts !== 'object' || !Array.isArray(opts.packages)) throw new XylemError('planScripts: packages are required', 'EINVAL');
  const installed = opts.installed ?? [];
  if (opts.packages.length + installed.length > MAX_PACKAGES) throw new XylemError('planScripts: too many packages', 'E2BIG');
  for (const p of [...opts.packages, ...installed]) checkPackage(p);
  const kernelInstall = opts.useKernelInstall ?? false;
  const triggerin = opts.triggerin ?? 'reject';
  if (triggerin !== 'reject' && triggerin !== 'skip' && triggerin !== 'run') throw new XylemError(`planScripts: bad triggerin policy ${String(triggerin)}`, 'EINVAL');
  if (triggerin !== 'skip') validateTransaction(opts.packages, kernelInstall, triggerin === 'run');

  const steps: ScriptStep[] = [];
  const skipped: SkippedScript[] = [];
  for (const { kind, desc, phase } of RUN_KINDS) {
    for (const p of opts.packages) {
      const script = p.scripts[kind];
      if (!script) continue;
      const id = `${p.name}.${desc.slice(1)}`;
      if (scriptIsIgnored(p.name, desc, kernelInstall)) {
        skipped.push({ pkg: p.name, id, reason: 'ignored' });
        continue;
      }
      // rpm-ostree reads the body tag: `%post -p /sbin/ldconfig` (interpreter, no body) never runs.
      if (script.body === '') {
        skipped.push({ pkg: p.name, id, reason: 'no-body' });
        continue;
      }
      const r = resolveScript(p, id, script, skipped);
      if (!r) continue;
      steps.push({ phase, kind: 'script', pkg: p.name, id, desc, ...r, arg: p.action === 'install' ? '1' : '2' });
    }
  }
  if (triggerin === 'run') {
    // After every %post (rpm runs each right after the triggering package's %post).
    const at = steps.findIndex((s) => s.phase === 'posttrans');
    const fired: ScriptStep[] = [];
    for (const f of firedTriggerins(opts.packages, installed)) {
      const id = `${f.owner.name}.triggerin`;
      if (scriptIsIgnored(f.owner.name, '%triggerin', kernelInstall) || f.trigger.script.body === '') continue;
      const r = resolveScript(f.owner, id, f.trigger.script, skipped);
      if (!r) continue;
      fired.push({ phase: 'post', kind: 'script', pkg: f.owner.name, id, desc: '%triggerin', ...r, arg: '1', arg2: '1', triggeredBy: f.target.name });
    }
    steps.splice(at < 0 ? steps.length : at, 0, ...fired);
  }
  for (const p of opts.packages) {
    for (const k of ['pretrans', 'preun', 'postun', 'preuntrans', 'postuntrans', 'verifyscript'] as const)
      if (p.scripts[k]) skipped.push({ pkg: p.name, id: `${p.name}.${k}`, reason: 'not-run-by-rpm-ostree' });
  }

  // %transfiletriggerin: base packages' first, then the new ones; higher priority first.
  const triggers: ScriptStep[] = [];
  for (const p of [...installed, ...opts.packages]) {
    const id = `${p.name}.transfiletriggerin`;
    const mine = p.fileTriggers.filter((t) => t.scope === 'transfile' && t.kind === 'in');
    if (mine.length === 0) continue;
    if (scriptIsIgnored(p.name, '%transfiletriggerin', kernelInstall)) {
      skipped.push({ pkg: p.name, id, reason: 'ignored' });
      continue;
    }
    for (const t of mine) {
      if (t.script.body === '') continue;
      const r = resolveScript(p, id, t.script, skipped);
      if (!r) continue;
      // As rpm-ostree: only patterns under usr/ (never usr/local) are walked.
      const prefixes = t.prefixes
        .map((x) => x.replace(/^\/+/, ''))
        .filter((x) => x.startsWith('usr/') && !x.startsWith('usr/local'))
        .map((x) => x.replace(/\/+$/, ''));
      if (prefixes.length === 0) continue;
      triggers.push({ phase: 'posttrans', kind: 'transfiletriggerin', pkg: p.name, id, desc: '%transfiletriggerin', ...r, arg: null, prefixes, priority: t.priority });
    }
  }
  // Array.prototype.sort is stable: equal priorities keep package order.
  triggers.sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0));
  steps.push(...triggers);
  return { steps, skipped };
}
