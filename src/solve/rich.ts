// Rich (boolean) dependencies, rpm ≥ 4.13/4.14: `(a or b)`, `(a if b else c)`, `(a with b)`…
// Parses the dependency string rpm stores as a dependency *name* into a small tree, refusing what
// rpm's lib/rpmrich.c refuses (missing parentheses or arguments, chains mixing operators, chains of
// if/unless, unknown operators) and what would be hostile (too long, too deep, too many leaves).
// Also evaluates a tree against a set of installed packages (the meaning libsolv gives them).

import { DepFlag } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';
import { formatDep } from './version.ts';

export const MAX_RICH_LENGTH = 16384;
export const MAX_RICH_DEPTH = 32;
export const MAX_RICH_LEAVES = 1024;

export type RichOp = 'and' | 'or' | 'if' | 'unless' | 'with' | 'without';

/** A leaf: a plain dependency. */
export interface RichLeaf {
  kind: 'dep';
  name: string;
  flags: number;
  evr: string;
}
/** An operator node; `else` only for `if` / `unless`. `args` holds ≥ 2 operands (a chain). */
export interface RichOpNode {
  kind: 'op';
  op: RichOp;
  args: RichNode[];
  else?: RichNode;
}
export type RichNode = RichLeaf | RichOpNode;

const OPS = new Set(['and', 'or', 'if', 'unless', 'with', 'without', 'else']);
const CHAINABLE = new Set<string>(['and', 'or', 'with']);

/** True when `name` is a rich dependency (rpm: starts with an opening parenthesis). */
export function isRich(name: string): boolean {
  return name.length > 0 && name.charCodeAt(0) === 40;
}

function fail(dep: string, why: string): never {
  throw new XylemError(`invalid rich dependency ${JSON.stringify(dep.length > 200 ? dep.slice(0, 200) + '…' : dep)}: ${why}`, 'ERICHDEP');
}

/** Parses a rich dependency string; throws XylemError(code ERICHDEP) naming the string and the fault. */
export function parseRich(dep: string): RichNode {
  if (typeof dep !== 'string') throw new XylemError('parseRich: dependency must be a string', 'EINVAL');
  if (dep.length > MAX_RICH_LENGTH) fail(dep, `longer than ${MAX_RICH_LENGTH} characters`);
  let pos = 0;
  let leaves = 0;
  const n = dep.length;
  const skipWhite = (): void => {
    while (pos < n && isSpace(dep.charCodeAt(pos))) pos++;
  };
  const parseSimple = (): RichLeaf => {
    const start = pos;
    let depth = 0;
    while (pos < n) {
      const c = dep.charCodeAt(pos);
      if (isSpace(c)) break;
      if (c === 40) depth++;
      else if (c === 41) {
        if (depth === 0) break;
        depth--;
      }
      pos++;
    }
    const name = dep.slice(start, pos);
    if (name === '') fail(dep, `missing dependency name at offset ${start}`);
    if (OPS.has(name)) fail(dep, `operator '${name}' where a dependency was expected`);
    if (++leaves > MAX_RICH_LEAVES) fail(dep, `more than ${MAX_RICH_LEAVES} dependencies`);
    // optional comparison
    const save = pos;
    skipWhite();
    let m = 0;
    let opLen = 0;
    const c0 = dep.charCodeAt(pos);
    const c1 = pos + 1 < n ? dep.charCodeAt(pos + 1) : 0;
    if (c0 === 60 /* < */) {
      m = DepFlag.LESS;
      opLen = 1;
      if (c1 === 61) (m |= DepFlag.EQUAL), (opLen = 2);
    } else if (c0 === 62 /* > */) {
      m = DepFlag.GREATER;
      opLen = 1;
      if (c1 === 61) (m |= DepFlag.EQUAL), (opLen = 2);
    } else if (c0 === 61 /* = */) {
      m = DepFlag.EQUAL;
      opLen = c1 === 61 ? 2 : 1;
    }
    if (m === 0) {
      pos = save;
      return { kind: 'dep', name, flags: 0, evr: '' };
    }
    pos += opLen;
    skipWhite();
    const vs = pos;
    while (pos < n && !isSpace(dep.charCodeAt(pos)) && dep.charCodeAt(pos) !== 41) pos++;
    const evr = dep.slice(vs, pos);
    if (evr === '') fail(dep, `missing version after comparison at offset ${vs}`);
    return { kind: 'dep', name, flags: m, evr };
  };
  const parseGroup = (depth: number): RichNode => {
    if (depth > MAX_RICH_DEPTH) fail(dep, `nested deeper than ${MAX_RICH_DEPTH}`);
    if (dep.charCodeAt(pos) !== 40) fail(dep, `expected '(' at offset ${pos}`);
    pos++;
    const args: RichNode[] = [];
    let op: string | null = null;
    let elseArg: RichNode | undefined;
    let sawElse = false;
    for (;;) {
      skipWhite();
      if (pos >= n) fail(dep, 'unterminated (missing \')\')');
      if (dep.charCodeAt(pos) === 41) fail(dep, `missing argument at offset ${pos}`);
      const arg = dep.charCodeAt(pos) === 40 ? parseGroup(depth + 1) : parseSimple();
      if (sawElse) elseArg = arg;
      else args.push(arg);
      skipWhite();
      if (pos >= n) fail(dep, 'unterminated (missing \')\')');
      if (dep.charCodeAt(pos) === 41) {
        pos++;
        break;
      }
      const ws = pos;
      while (pos < n && !isSpace(dep.charCodeAt(pos)) && dep.charCodeAt(pos) !== 40 && dep.charCodeAt(pos) !== 41) pos++;
      const word = dep.slice(ws, pos);
      if (!OPS.has(word)) fail(dep, `unknown operator '${word}' at offset ${ws}`);
      if (sawElse) fail(dep, `'${word}' after the else branch`);
      if (word === 'else') {
        if (op !== 'if' && op !== 'unless') fail(dep, "'else' without 'if' or 'unless'");
        sawElse = true;
        continue;
      }
      if (op !== null && word !== op) fail(dep, `cannot chain different operators ('${op}' then '${word}'); use parentheses`);
      if (op !== null && !CHAINABLE.has(word)) fail(dep, `only and, or and with can be chained, not '${word}'`);
      op = word;
    }
    if (op === null) {
      // `(foo)` or `(foo >= 1)`: a single dependency in parentheses
      return args[0]!;
    }
    const node: RichOpNode = { kind: 'op', op: op as RichOp, args };
    if (elseArg) node.else = elseArg;
    return node;
  };
  skipWhite();
  if (pos >= n || dep.charCodeAt(pos) !== 40) fail(dep, "does not start with '('");
  const tree = parseGroup(1);
  skipWhite();
  if (pos !== n) fail(dep, `trailing text at offset ${pos}`);
  return tree;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
}

/** Canonical text of a tree: `(a or (b >= 1 and c))`. */
export function formatRich(node: RichNode): string {
  if (node.kind === 'dep') return formatDep(node.name, node.flags, node.evr);
  const parts = node.args.map((a) => formatRich(a)).join(` ${node.op} `);
  return node.else ? `(${parts} else ${formatRich(node.else)})` : `(${parts})`;
}

/** Every leaf of a tree, in order. */
export function richLeaves(node: RichNode, out: RichLeaf[] = []): RichLeaf[] {
  if (node.kind === 'dep') out.push(node);
  else {
    for (const a of node.args) richLeaves(a, out);
    if (node.else) richLeaves(node.else, out);
  }
  return out;
}

/** What evaluation needs: the packages providing a leaf, and whether a package is installed. */
export interface RichContext {
  providers(leaf: RichLeaf): ArrayLike<number>;
  installed(pkg: number): boolean;
}

/**
 * Whether `node` holds on the installed set, with libsolv's meaning: `with` / `without` need one
 * package satisfying the first operand and (not) the others; `A if B` = A or not B; `A unless B` =
 * A and not B; `A if B else C` = B ? A : C; `A unless B else C` = B ? C : A.
 */
export function evalRich(node: RichNode, ctx: RichContext): boolean {
  if (node.kind === 'dep') {
    const ps = ctx.providers(node);
    for (let i = 0; i < ps.length; i++) if (ctx.installed(ps[i]!)) return true;
    return false;
  }
  switch (node.op) {
    case 'and':
      return node.args.every((a) => evalRich(a, ctx));
    case 'or':
      return node.args.some((a) => evalRich(a, ctx));
    case 'if': {
      const cond = evalRich(node.args[1]!, ctx);
      if (cond) return evalRich(node.args[0]!, ctx);
      return node.else ? evalRich(node.else, ctx) : true;
    }
    case 'unless': {
      // libsolv: without else, `A unless B` holds when A holds and B does not
      const cond = evalRich(node.args[1]!, ctx);
      if (!node.else) return !cond && evalRich(node.args[0]!, ctx);
      return cond ? evalRich(node.else, ctx) : evalRich(node.args[0]!, ctx);
    }
    case 'with':
    case 'without': {
      for (const p of providerSet(node, ctx)) if (ctx.installed(p)) return true;
      return false;
    }
  }
}

/** The packages satisfying a `with` / `without` / leaf node (a set operation over providers). */
export function providerSet(node: RichNode, ctx: { providers(leaf: RichLeaf): ArrayLike<number> }): number[] {
  if (node.kind === 'dep') return Array.from(ctx.providers(node));
  const sets = node.args.map((a) => providerSet(a, ctx));
  switch (node.op) {
    case 'with':
    case 'and': {
      let cur = sets[0]!;
      for (let i = 1; i < sets.length; i++) {
        const s = new Set(sets[i]);
        cur = cur.filter((p) => s.has(p));
      }
      return cur;
    }
    case 'without': {
      const minus = new Set<number>();
      for (let i = 1; i < sets.length; i++) for (const p of sets[i]!) minus.add(p);
      return sets[0]!.filter((p) => !minus.has(p));
    }
    case 'or': {
      const all = new Set<number>();
      for (const s of sets) for (const p of s) all.add(p);
      return [...all];
    }
    default:
      throw new XylemError(`'${node.op}' cannot be used inside 'with'/'without'`, 'ERICHDEP');
  }
}

/** Where a rich dependency stands: Requires-like tags want it to hold, Conflicts-like tags to fail. */
export type RichContextTag = 'requires' | 'recommends' | 'suggests' | 'conflicts' | 'supplements' | 'enhances';

/**
 * rpmbuild's context rule: in Requires / Recommends / Suggests `unless` is refused (rpm: "use 'or'")
 * and so is `if` under an `or`; in Conflicts / Supplements / Enhances `if` is refused ("use 'and'")
 * and so is `unless` under an `and`. Returns null when allowed, else rpm's message.
 */
export function richContextError(node: RichNode, tag: RichContextTag): string | null {
  const positive = tag === 'requires' || tag === 'recommends' || tag === 'suggests';
  const walk = (n: RichNode, underOr: boolean, underAnd: boolean): string | null => {
    if (n.kind === 'dep') return null;
    if (positive && n.op === 'unless') return "Illegal context for 'unless', please use 'or' instead";
    if (!positive && n.op === 'if') return "Illegal context for 'if', please use 'and' instead";
    if (positive && n.op === 'if' && underOr) return "Illegal context for 'if', please use 'and' instead";
    if (!positive && n.op === 'unless' && underAnd) return "Illegal context for 'unless', please use 'or' instead";
    const or = underOr || n.op === 'or';
    const and = underAnd || n.op === 'and';
    for (const a of n.args) {
      const e = walk(a, or, and);
      if (e) return e;
    }
    return n.else ? walk(n.else, or, and) : null;
  };
  return walk(node, false, false);
}
