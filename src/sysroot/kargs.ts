// Kernel command lines as libostree edits them (OstreeKernelArgs): an ordered list of KEY or
// KEY=VALUE arguments where a key may repeat. `replace` rewrites the first value of a key in
// place and drops its other values, `append` adds another value, `delete` removes one.

import { XylemError } from '../util/errors.ts';

interface Arg {
  key: string;
  /** null for a bare `key` (no '='). */
  value: string | null;
}

/** Maximum length of a command line we accept (far above any real kernel's limit). */
const MAX_CMDLINE = 1 << 20;

/** C0 controls and DEL: a boot entry is one line per key, and no kernel argument needs them. */
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** Shows an argument in an error message with its control characters escaped (\r, \x01…). */
function printable(arg: string): string {
  return JSON.stringify(arg.length > 200 ? `${arg.slice(0, 200)}…` : arg);
}

/**
 * Refuses a kernel argument that would corrupt the BLS `options` line (CR, newline, any other
 * control character) or is empty. Public for callers validating input early.
 */
export function validateKarg(arg: string): void {
  if (typeof arg !== 'string' || arg === '') throw new XylemError('Empty kernel argument');
  if (CONTROL_RE.test(arg)) throw new XylemError(`Invalid kernel argument ${printable(arg)}: contains a control character`);
}

function splitArg(arg: string): Arg {
  const eq = arg.indexOf('=');
  return eq < 0 ? { key: arg, value: null } : { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
}

/**
 * Splits a command line on whitespace, keeping double-quoted runs together (`a="b c"` is one
 * argument, quotes kept), as the kernel and libostree's parser do.
 */
export function splitCmdline(cmdline: string): string[] {
  if (typeof cmdline !== 'string') throw new TypeError('splitCmdline: cmdline must be a string');
  if (cmdline.length > MAX_CMDLINE) throw new XylemError('Kernel command line too long');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (const ch of cmdline) {
    if (ch === '"') quoted = !quoted;
    // Every ASCII whitespace separates arguments, as the kernel's isspace() (CR included).
    if (!quoted && (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f')) {
      if (has) out.push(cur);
      cur = '';
      has = false;
      continue;
    }
    cur += ch;
    has = true;
  }
  if (has) out.push(cur);
  return out;
}

export class KernelArgs {
  private args: Arg[] = [];

  /**
   * Parses an existing command line (a BLS `options` line, /proc/cmdline). Lenient: a loaded
   * entry never makes the sysroot unreadable; new arguments go through append/replace, which
   * refuse control characters, and BootConfig refuses them when an entry is written.
   */
  static parse(cmdline: string): KernelArgs {
    const k = new KernelArgs();
    for (const a of splitCmdline(cmdline)) k.args.push(splitArg(a));
    return k;
  }

  static fromArgv(argv: readonly string[]): KernelArgs {
    const k = new KernelArgs();
    k.appendArgv(argv);
    return k;
  }

  clone(): KernelArgs {
    const k = new KernelArgs();
    k.args = this.args.map((a) => ({ ...a }));
    return k;
  }

  /** Adds `arg` at the end (another value if the key exists). */
  append(arg: string): void {
    validateKarg(arg);
    this.args.push(splitArg(arg));
  }

  appendArgv(argv: readonly string[]): void {
    for (const a of argv) this.append(a);
  }

  /** Appends `arg` unless its key is already present. */
  appendIfMissing(arg: string): void {
    const { key } = splitArg(arg);
    if (!this.args.some((a) => a.key === key)) this.append(arg);
  }

  /**
   * Sets the key of `arg` to its value (everything after the first '='), as
   * ostree_kernel_args_replace: the first existing entry is rewritten in place and the other
   * entries of that key are removed; a new key is appended.
   */
  replace(arg: string): void {
    validateKarg(arg);
    const a = splitArg(arg);
    const first = this.args.findIndex((x) => x.key === a.key);
    if (first < 0) {
      this.args.push(a);
      return;
    }
    this.args[first] = a;
    this.args = this.args.filter((x, i) => i === first || x.key !== a.key);
  }

  /**
   * ostree_kernel_args_new_replace: `KEY=OLD=NEW` changes only the entry whose value is OLD;
   * `KEY=VALUE` changes the key's only entry. The key must exist.
   */
  newReplace(arg: string): void {
    validateKarg(arg);
    const a = splitArg(arg);
    const entries = this.args.filter((x) => x.key === a.key);
    if (entries.length === 0) throw new XylemError(`No key '${a.key}' found`);
    if (a.value !== null && a.value.includes('=')) {
      const eq = a.value.indexOf('=');
      const oldVal = a.value.slice(0, eq);
      const hit = entries.find((x) => x.value === oldVal);
      if (!hit) throw new XylemError(`No karg '${a.key}=${oldVal}' found`);
      hit.value = a.value.slice(eq + 1);
      return;
    }
    if (entries.length > 1) throw new XylemError(`Multiple values for key '${a.key}' found`);
    entries[0]!.value = a.value;
  }

  replaceArgv(argv: readonly string[]): void {
    for (const a of argv) this.replace(a);
  }

  /**
   * Removes `KEY=VALUE` (that exact entry) or `KEY` (its only entry; an error when the key has
   * several values).
   */
  delete(arg: string): void {
    const a = splitArg(arg);
    const matches = this.args.filter((x) => x.key === a.key);
    if (matches.length === 0) throw new XylemError(`No karg '${arg}' found`);
    if (a.value === null) {
      if (matches.length > 1) throw new XylemError(`Multiple values for key '${a.key}' found`);
      this.args = this.args.filter((x) => x !== matches[0]);
      return;
    }
    const hit = matches.find((x) => x.value === a.value);
    if (!hit) throw new XylemError(`No karg '${arg}' found`);
    this.args = this.args.filter((x) => x !== hit);
  }

  /** Removes every entry of `key`. */
  deleteKey(key: string): void {
    this.args = this.args.filter((x) => x.key !== key);
  }

  /** Last value of `key` (null for a bare key), undefined when absent. */
  get(key: string): string | null | undefined {
    let v: string | null | undefined;
    for (const a of this.args) if (a.key === key) v = a.value;
    return v;
  }

  has(key: string): boolean {
    return this.args.some((a) => a.key === key);
  }

  toArgv(): string[] {
    return this.args.map((a) => (a.value === null ? a.key : `${a.key}=${a.value}`));
  }

  toString(): string {
    return this.toArgv().join(' ');
  }
}

/**
 * The arguments of a running kernel's /proc/cmdline that a new deployment inherits with
 * `--karg-proc-cmdline`: the bootloader's own (BOOT_IMAGE=, initrd=) are dropped.
 */
export function kargsFromProcCmdline(cmdline: string): KernelArgs {
  const k = new KernelArgs();
  for (const a of splitCmdline(cmdline)) {
    if (a.startsWith('BOOT_IMAGE=') || a.startsWith('initrd=')) continue;
    k.append(a);
  }
  return k;
}
