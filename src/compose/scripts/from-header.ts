// Builds the runner's ScriptPackage from what the RPM reader returns for a header (src/rpm:
// readScripts, readTriggers, readFileTriggers, readTransFileTriggers). Matched by shape, so this
// module does not depend on the reader's internals: scriptlet kinds 'pre'/'verify' become
// 'prein'/'verifyscript', trigger kinds 'triggerin'… become 'in'…, `prog` is the interpreter argv.

import type { Dependency } from '../../rpm/types.ts';
import { XylemError } from '../../util/errors.ts';
import type { FileTrigger, PackageAction, PackageTrigger, ScriptletKind, ScriptPackage } from './types.ts';

/** A scriptlet as the reader gives it. */
export interface HeaderScriptlet {
  kind: string;
  body: string;
  prog: string[];
  flags: number;
}

/** A trigger or file trigger as the reader gives it (file triggers carry a priority). */
export interface HeaderTrigger {
  kind: string;
  conditions: Dependency[];
  body: string;
  prog: string[];
  flags: number;
  priority?: number;
}

const SCRIPT_KINDS: Record<string, ScriptletKind> = {
  pretrans: 'pretrans',
  pre: 'prein',
  prein: 'prein',
  post: 'post',
  posttrans: 'posttrans',
  preun: 'preun',
  postun: 'postun',
  preuntrans: 'preuntrans',
  postuntrans: 'postuntrans',
  verify: 'verifyscript',
  verifyscript: 'verifyscript',
};
const TRIGGER_KINDS: Record<string, PackageTrigger['kind']> = { triggerprein: 'prein', triggerin: 'in', triggerun: 'un', triggerpostun: 'postun' };

function triggerKind(pkg: string, k: string): PackageTrigger['kind'] {
  const t = TRIGGER_KINDS[k];
  if (!t) throw new XylemError(`${pkg}: unknown trigger kind ${JSON.stringify(k)}`, 'EINVAL');
  return t;
}

/** The runner's view of one package of a transaction. */
export function scriptPackageFromHeader(p: {
  name: string;
  release: string;
  /** `[E:]V-R`, for versioned %triggerin conditions. */
  evr?: string;
  action: PackageAction;
  scripts: HeaderScriptlet[];
  triggers?: HeaderTrigger[];
  fileTriggers?: HeaderTrigger[];
  transFileTriggers?: HeaderTrigger[];
}): ScriptPackage {
  if (!p || typeof p.name !== 'string' || !Array.isArray(p.scripts)) throw new XylemError('scriptPackageFromHeader: name and scripts are required', 'EINVAL');
  const scripts: ScriptPackage['scripts'] = {};
  for (const s of p.scripts) {
    const kind = SCRIPT_KINDS[s.kind];
    if (!kind) throw new XylemError(`${p.name}: unknown scriptlet kind ${JSON.stringify(s.kind)}`, 'EINVAL');
    scripts[kind] = { interpreter: [...s.prog], body: s.body, flags: s.flags };
  }
  const triggers: PackageTrigger[] = (p.triggers ?? []).map((t) => ({ kind: triggerKind(p.name, t.kind), conditions: t.conditions, script: { interpreter: [...t.prog], body: t.body, flags: t.flags } }));
  const fileTriggers: FileTrigger[] = [];
  for (const [scope, list] of [
    ['file', p.fileTriggers ?? []],
    ['transfile', p.transFileTriggers ?? []],
  ] as const) {
    for (const t of list) {
      const kind = triggerKind(p.name, t.kind);
      if (kind === 'prein') throw new XylemError(`${p.name}: file triggers have no prein kind`, 'EINVAL');
      fileTriggers.push({ scope, kind, priority: t.priority ?? 1000000, prefixes: t.conditions.map((c) => c.name), script: { interpreter: [...t.prog], body: t.body, flags: t.flags } });
    }
  }
  return { name: p.name, release: p.release, ...(p.evr !== undefined ? { evr: p.evr } : {}), action: p.action, scripts, triggers, fileTriggers };
}
