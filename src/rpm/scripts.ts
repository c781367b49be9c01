// A package's scriptlets, triggers and file triggers as the header stores them (rpm's
// rpmscript.cc and rpmtriggers.cc read the same tags): each scriptlet's body, its interpreter argv
// (*PROG; `<lua>` for embedded Lua, /bin/sh when absent) and flags (1 expand, 2 qformat,
// 4 critical); triggers grouped by script with their conditions (name, sense, version); file
// triggers and transaction file triggers with their path-prefix conditions and priorities.

import type { Dependency } from './types.ts';
import { DepFlag } from './types.ts';
import { RpmError, RpmErrorCode } from './errors.ts';
import type { RpmHeader } from './header.ts';
import { Tag } from './tags.ts';

export type ScriptKind = 'pretrans' | 'pre' | 'post' | 'preun' | 'postun' | 'posttrans' | 'verify' | 'preuntrans' | 'postuntrans';

/** One scriptlet. */
export interface RpmScript {
  kind: ScriptKind;
  /** The body ('' when the scriptlet has an interpreter but no body, e.g. `%post -p /sbin/ldconfig`). */
  body: string;
  /** Interpreter and arguments; ['<lua>'] for embedded Lua. */
  prog: string[];
  /** Script flags: 1 expand macros, 2 queryformat-expand, 4 critical. */
  flags: number;
}

export const ScriptFlag = { EXPAND: 1, QFORMAT: 2, CRITICAL: 4 } as const;

const SCRIPT_TAGS: readonly [ScriptKind, number, number, number][] = [
  ['pretrans', Tag.PRETRANS, Tag.PRETRANSPROG, Tag.PRETRANSFLAGS],
  ['pre', Tag.PREIN, Tag.PREINPROG, Tag.PREINFLAGS],
  ['post', Tag.POSTIN, Tag.POSTINPROG, Tag.POSTINFLAGS],
  ['preun', Tag.PREUN, Tag.PREUNPROG, Tag.PREUNFLAGS],
  ['postun', Tag.POSTUN, Tag.POSTUNPROG, Tag.POSTUNFLAGS],
  ['posttrans', Tag.POSTTRANS, Tag.POSTTRANSPROG, Tag.POSTTRANSFLAGS],
  ['verify', Tag.VERIFYSCRIPT, Tag.VERIFYSCRIPTPROG, Tag.VERIFYSCRIPTFLAGS],
  ['preuntrans', Tag.PREUNTRANS, Tag.PREUNTRANSPROG, Tag.PREUNTRANSFLAGS],
  ['postuntrans', Tag.POSTUNTRANS, Tag.POSTUNTRANSPROG, Tag.POSTUNTRANSFLAGS],
];

/** The scriptlets present, in transaction order of their kinds. */
export function readScripts(h: RpmHeader): RpmScript[] {
  const out: RpmScript[] = [];
  for (const [kind, bodyTag, progTag, flagsTag] of SCRIPT_TAGS) {
    if (!h.has(bodyTag) && !h.has(progTag)) continue;
    const prog = h.getStringArray(progTag) ?? ['/bin/sh'];
    out.push({ kind, body: h.getString(bodyTag) ?? '', prog: prog.length ? prog : ['/bin/sh'], flags: h.getNumber(flagsTag) ?? 0 });
  }
  return out;
}

export type TriggerKind = 'triggerprein' | 'triggerin' | 'triggerun' | 'triggerpostun';

/** One trigger script with the conditions that fire it. */
export interface RpmTrigger {
  kind: TriggerKind;
  /** Package conditions (name, sense flags incl. the trigger bit, version). */
  conditions: Dependency[];
  body: string;
  prog: string[];
  flags: number;
}

/** One file trigger (or transaction file trigger) with its path-prefix conditions. */
export interface RpmFileTrigger extends RpmTrigger {
  /** ≥ 10000 runs before the triggering package's scriptlets ("high"); rpm's default is 1000000. */
  priority: number;
}

function triggerKind(flags: number, pkg: string): TriggerKind {
  if (flags & DepFlag.TRIGGERPREIN) return 'triggerprein';
  if (flags & DepFlag.TRIGGERIN) return 'triggerin';
  if (flags & DepFlag.TRIGGERUN) return 'triggerun';
  if (flags & DepFlag.TRIGGERPOSTUN) return 'triggerpostun';
  throw new RpmError(RpmErrorCode.HEADER, pkg, `trigger condition with flags ${flags} has no trigger type`);
}

interface TriggerTags {
  scripts: number;
  prog: number;
  flags: number | null;
  name: number;
  index: number;
  version: number;
  condFlags: number;
  priorities: number | null;
}

function readTriggerSet(h: RpmHeader, t: TriggerTags, what: string): (RpmTrigger & { priority: number })[] {
  const names = h.getStringArray(t.name);
  if (names === undefined) return [];
  const bodies = h.getStringArray(t.scripts) ?? [];
  const progs = h.getStringArray(t.prog) ?? [];
  const sflags = t.flags !== null ? (h.getNumbers(t.flags) ?? []) : [];
  const prios = t.priorities !== null ? (h.getNumbers(t.priorities) ?? []) : [];
  const index = h.getNumbers(t.index) ?? [];
  const versions = h.getStringArray(t.version) ?? [];
  const cflags = h.getNumbers(t.condFlags) ?? [];
  if (index.length !== names.length || versions.length !== names.length || cflags.length !== names.length)
    throw new RpmError(RpmErrorCode.HEADER, h.pkg, `${what}: condition lists disagree in length`);
  const nScripts = bodies.length;
  if ((h.has(t.prog) && progs.length !== nScripts) || (t.flags !== null && h.has(t.flags) && sflags.length !== nScripts) || (t.priorities !== null && h.has(t.priorities) && prios.length !== nScripts))
    throw new RpmError(RpmErrorCode.HEADER, h.pkg, `${what}: script lists disagree in length`);
  const out: (RpmTrigger & { priority: number })[] = [];
  for (let s = 0; s < nScripts; s++) {
    const conditions: Dependency[] = [];
    let kind: TriggerKind | null = null;
    for (let c = 0; c < names.length; c++) {
      if (index[c] !== s) continue;
      conditions.push({ name: names[c]!, flags: cflags[c]!, version: versions[c]! });
      kind ??= triggerKind(cflags[c]!, h.pkg);
    }
    if (kind === null) continue;
    out.push({ kind, conditions, body: bodies[s]!, prog: [progs[s] ?? '/bin/sh'], flags: sflags[s] ?? 0, priority: prios[s] ?? 1000000 });
  }
  for (let c = 0; c < names.length; c++)
    if (index[c]! >= nScripts) throw new RpmError(RpmErrorCode.HEADER, h.pkg, `${what}: condition ${c} names script ${index[c]} of ${nScripts}`);
  return out;
}

/** Package triggers (%triggerprein/in/un/postun). */
export function readTriggers(h: RpmHeader): RpmTrigger[] {
  const T = Tag;
  return readTriggerSet(h, { scripts: T.TRIGGERSCRIPTS, prog: T.TRIGGERSCRIPTPROG, flags: T.TRIGGERSCRIPTFLAGS, name: T.TRIGGERNAME, index: T.TRIGGERINDEX, version: T.TRIGGERVERSION, condFlags: T.TRIGGERFLAGS, priorities: null }, 'triggers').map(
    ({ priority: _p, ...t }) => t,
  );
}

/** File triggers (%filetriggerin/un/postun): conditions are path prefixes. */
export function readFileTriggers(h: RpmHeader): RpmFileTrigger[] {
  const T = Tag;
  return readTriggerSet(h, { scripts: T.FILETRIGGERSCRIPTS, prog: T.FILETRIGGERSCRIPTPROG, flags: T.FILETRIGGERSCRIPTFLAGS, name: T.FILETRIGGERNAME, index: T.FILETRIGGERINDEX, version: T.FILETRIGGERVERSION, condFlags: T.FILETRIGGERFLAGS, priorities: T.FILETRIGGERPRIORITIES }, 'file triggers');
}

/** Transaction file triggers (%transfiletriggerin/un/postun). */
export function readTransFileTriggers(h: RpmHeader): RpmFileTrigger[] {
  const T = Tag;
  return readTriggerSet(
    h,
    { scripts: T.TRANSFILETRIGGERSCRIPTS, prog: T.TRANSFILETRIGGERSCRIPTPROG, flags: T.TRANSFILETRIGGERSCRIPTFLAGS, name: T.TRANSFILETRIGGERNAME, index: T.TRANSFILETRIGGERINDEX, version: T.TRANSFILETRIGGERVERSION, condFlags: T.TRANSFILETRIGGERFLAGS, priorities: T.TRANSFILETRIGGERPRIORITIES },
    'transaction file triggers',
  );
}
