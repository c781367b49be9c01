// The extra rpmdb index keys of a rich (boolean) dependency: besides the whole string, librpm
// indexes every leaf package name (rpmdb.c updateRichDep over rpmrichParse): names on the negated
// side of `if`/`unless` are prefixed with `!`, the condition of an `… else …` is indexed again with
// the opposite sense, `rpmlib(…)` leaves are left out, and the keys are sorted (byte order, with
// the sense marker ' ' or '!' in front) and de-duplicated. A string the rich-dependency grammar
// rejects (rpm-packages.md §2.4) gets no leaf keys, as in librpm.
// Strings here are byte strings: one char per byte (latin1), so keys keep their exact bytes.

const OPS = new Set(['and', 'or', 'if', 'unless', 'else', 'with', 'without']);
const SENSES = new Set(['<=', '=<', '<', '==', '=', '>=', '=>', '>']);
/** Nesting deeper than this is refused (librpm recurses without a bound; we do not). */
const MAX_DEPTH = 256;

const CHECK = 1;
const NO_WITH = 2;
const NO_AND = 4;
const NO_OR = 8;

class RichSyntaxError extends Error {}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

interface LeafState {
  keys: string[];
  neg: boolean;
  /** Per open level: where the current condition block starts in `keys`. */
  marks: number[];
}

class Parser {
  private p = 0;
  constructor(
    private readonly s: string,
    private readonly st: LeafState,
  ) {}

  private skipWhite(): void {
    while (this.p < this.s.length && (isSpace(this.s[this.p]) || this.s[this.p] === ',')) this.p++;
  }

  /** A token of non-space characters, where parentheses nest (`pkgconfig(foo)`). */
  private token(from: number): number {
    let q = from;
    let depth = 0;
    while (q < this.s.length) {
      const c = this.s[q]!;
      if (isSpace(c) || c === ',') break;
      if (c === ')' && depth-- <= 0) break;
      q++;
      if (c === '(') depth++;
    }
    return q;
  }

  private simple(): void {
    const n = this.p;
    this.p = this.token(this.p);
    const name = this.s.slice(n, this.p);
    if (name.length === 0) throw new RichSyntaxError('name required');
    this.skipWhite();
    if (this.p < this.s.length) {
      const pe = this.token(this.p);
      if (SENSES.has(this.s.slice(this.p, pe))) {
        this.p = pe;
        this.skipWhite();
        const e = this.p;
        this.p = this.token(this.p);
        if (this.p === e) throw new RichSyntaxError('version required');
      }
    }
    if (!name.startsWith('rpmlib(') || name.length <= 7) this.st.keys.push((this.st.neg ? '!' : ' ') + name);
  }

  private op(): string {
    let pe = this.p;
    while (pe < this.s.length && !isSpace(this.s[pe]) && this.s[pe] !== ')') pe++;
    const word = this.s.slice(this.p, pe);
    if (!OPS.has(word)) throw new RichSyntaxError(`unknown op ${word}`);
    this.p = pe;
    return word;
  }

  /** One parenthesised expression; returns its check bits (librpm's illegal-combination rules). */
  expr(depth: number, inherited: number): number {
    if (depth > MAX_DEPTH) throw new RichSyntaxError('nested too deeply');
    const st = this.st;
    st.marks.push(st.keys.length);
    if (this.s[this.p] !== '(') throw new RichSyntaxError('missing (');
    this.p++;
    let check = inherited;
    let op = '';
    let firstop = '';
    let chainop = '';
    for (;;) {
      this.skipWhite();
      if (this.p >= this.s.length || this.s[this.p] === ')') throw new RichSyntaxError('empty or unterminated');
      if (this.s[this.p] === '(') {
        let sub = this.expr(depth + 1, check & CHECK);
        if (op === 'if' || op === 'unless') sub &= ~(NO_AND | NO_OR);
        check |= sub;
      } else this.simple();
      this.skipWhite();
      if (this.p >= this.s.length) throw new RichSyntaxError('unterminated');
      if (this.s[this.p] === ')') break;
      op = this.op();
      if (firstop === '') firstop = op;
      if (op === 'else' && (chainop === 'if' || chainop === 'unless')) chainop = '';
      if (chainop !== '' && op !== chainop) throw new RichSyntaxError('cannot chain different ops');
      if (chainop !== '' && op !== 'and' && op !== 'or' && op !== 'with') throw new RichSyntaxError('can only chain and/or/with');
      this.leafOp(op);
      chainop = op;
    }
    if ((firstop === 'with' || firstop === 'without') && check & NO_WITH) throw new RichSyntaxError('illegal ops in with/without');
    if (check & CHECK) {
      if ((firstop === 'and' || firstop === 'if') && check & NO_AND) throw new RichSyntaxError("illegal context for 'unless'");
      if ((firstop === 'or' || firstop === 'unless') && check & NO_OR) throw new RichSyntaxError("illegal context for 'if'");
    }
    if (firstop === 'if') check |= NO_OR;
    if (firstop === 'unless') check |= NO_AND;
    if (op === 'and' || op === 'or') check &= ~(NO_AND | NO_OR);
    if (op !== '' && op !== 'with' && op !== 'without' && op !== 'or') check |= NO_WITH;
    this.p++;
    st.marks.pop();
    if (op === 'if' || op === 'unless') st.neg = !st.neg;
    return check;
  }

  private leafOp(op: string): void {
    const st = this.st;
    const level = st.marks.length - 1;
    if (op === 'if' || op === 'unless') {
      st.marks[level] = st.keys.length;
      st.neg = !st.neg;
    } else if (op === 'else') {
      const end = st.keys.length;
      for (let i = st.marks[level]!; i < end; i++) {
        const k = st.keys[i]!;
        st.keys.push((k[0] === '!' ? ' ' : '!') + k.slice(1));
      }
      st.neg = !st.neg;
    }
  }

  get pos(): number {
    return this.p;
  }
}

/** The leaf index keys of rich dependency `dep` (a byte string starting with '('), in rpm's order. */
export function richLeafKeys(dep: string): string[] {
  if (typeof dep !== 'string') throw new TypeError('richLeafKeys: a dependency string is required');
  const st: LeafState = { keys: [], neg: false, marks: [] };
  try {
    new Parser(dep, st).expr(0, 0);
  } catch (e) {
    if (e instanceof RichSyntaxError) return [];
    throw e;
  }
  const sorted = st.keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] === sorted[i - 1]) continue;
    const k = sorted[i]!;
    out.push(k[0] === ' ' ? k.slice(1) : k);
  }
  return out;
}
