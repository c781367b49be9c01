// Readers for the text files of an SELinux policy's file labelling database
// (`contexts/files/file_contexts`, `.homedirs`, `.local`, and the path aliases of `.subs_dist` and
// `.subs`), with libselinux 3.4's reading rules (label_file.h process_line, label_support.c
// read_spec_entries, label_file.c selabel_subs_init). Compiled `.bin` files are not read: the text
// files are the source they are made from. Input is hostile: sizes and counts are capped, fields
// must be ASCII, every regex is compiled (and refused, with file:line, when it cannot be) here.

import { XylemError } from '../util/errors.ts';
import { compileSpecRegex, RegexError, type Nfa } from './regex.ts';

/** Largest file_contexts-family file read (Fedora's file_contexts is ~1 MiB). */
export const MAX_FC_FILE_BYTES = 32 * 1024 * 1024;
/** Most lines in one file. */
export const MAX_FC_LINES = 1_000_000;
/** Most specs read from one file (Fedora's policy has ~7k in all). */
export const MAX_FC_SPECS = 100_000;
/** Longest security context accepted. */
export const MAX_CONTEXT_LENGTH = 4096;

/** File type filters of a spec (`-d` …), as S_IFMT values; 0 = any type. */
export const S_IFMT = 0o170000;
const TYPE_FIELD: Record<string, number> = {
  '--': 0o100000,
  '-d': 0o040000,
  '-l': 0o120000,
  '-b': 0o060000,
  '-c': 0o020000,
  '-p': 0o010000,
  '-s': 0o140000,
};

/** One line of a file_contexts file. */
export interface FileContextSpec {
  /** The regex as written (without the implicit ^…$). */
  regex: string;
  /** S_IFMT value the spec is restricted to, or 0. */
  mode: number;
  /** The security context, or '<<none>>' (the path must not be labelled). */
  context: string;
  /** The compiled anchored regex. */
  nfa: Nfa;
  /** Where the spec was read: "file:line". */
  where: string;
}

/** A path alias of file_contexts.subs / .subs_dist: `src` and what is below it is looked up as `dst`. */
export interface PathSubstitution {
  src: string;
  dst: string;
}

function fail(file: string, line: number, what: string): never {
  throw new XylemError(`${file}:${line}: ${what}`, 'EINVAL');
}

/** Splits bytes into lines (without their "\n"), refusing oversized input and NUL bytes. */
function lines(data: Uint8Array, file: string): string[] {
  if (!(data instanceof Uint8Array)) throw new TypeError(`${file}: expected bytes`);
  if (data.length > MAX_FC_FILE_BYTES) throw new XylemError(`${file}: larger than ${MAX_FC_FILE_BYTES} bytes`, 'EFBIG');
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i < data.length && data[i] !== 0x0a) {
      if (data[i] === 0) fail(file, out.length + 1, 'NUL byte in line');
      continue;
    }
    if (i === data.length && start === i) break;
    if (out.length >= MAX_FC_LINES) throw new XylemError(`${file}: more than ${MAX_FC_LINES} lines`, 'EFBIG');
    // latin1: one char per byte, so non-ASCII bytes survive to be refused in fields.
    let s = '';
    for (let k = start; k < i; k += 8192) s += String.fromCharCode(...data.subarray(k, Math.min(i, k + 8192)));
    out.push(s);
    start = i + 1;
  }
  return out;
}

// C isspace() in the C locale.
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * The up to three whitespace-separated fields of a spec line (read_spec_entries): [] for a blank
 * or comment line. Non-ASCII bytes inside the fields read are an error, as in libselinux.
 */
function fields(line: string, file: string, lineno: number): string[] {
  let p = 0;
  while (p < line.length && isSpace(line.charCodeAt(p))) p++;
  if (p === line.length || line[p] === '#') return [];
  const out: string[] = [];
  while (out.length < 3 && p < line.length) {
    while (p < line.length && isSpace(line.charCodeAt(p))) p++;
    const s = p;
    while (p < line.length && !isSpace(line.charCodeAt(p))) {
      if (line.charCodeAt(p) > 0x7f) fail(file, lineno, 'Non-ASCII characters found');
      p++;
    }
    if (p > s) out.push(line.slice(s, p));
  }
  return out;
}

/**
 * Parses one file_contexts-format file (`file` names it in errors). Every regex is compiled; a
 * line libselinux would refuse, or a regex that cannot be compiled safely, throws with file:line.
 */
export function parseFileContexts(data: Uint8Array, file: string): FileContextSpec[] {
  if (typeof file !== 'string') throw new TypeError('parseFileContexts: file name required');
  const specs: FileContextSpec[] = [];
  const all = lines(data, file);
  for (let n = 0; n < all.length; n++) {
    const lineno = n + 1;
    const f = fields(all[n]!, file, lineno);
    if (f.length === 0) continue;
    if (f.length < 2) fail(file, lineno, 'line is missing fields');
    if (specs.length >= MAX_FC_SPECS) fail(file, lineno, `more than ${MAX_FC_SPECS} specs`);
    const regex = f[0]!;
    let mode = 0;
    let context: string;
    if (f.length === 3) {
      const m = TYPE_FIELD[f[1]!];
      if (m === undefined) fail(file, lineno, `invalid file type ${f[1]}`);
      mode = m;
      context = f[2]!;
    } else context = f[1]!;
    if (context.length > MAX_CONTEXT_LENGTH) fail(file, lineno, `context longer than ${MAX_CONTEXT_LENGTH} characters`);
    let nfa: Nfa;
    try {
      nfa = compileSpecRegex(regex);
    } catch (e) {
      if (e instanceof RegexError) fail(file, lineno, `invalid regex ${regex}: ${e.message}`);
      throw e;
    }
    specs.push({ regex, mode, context, nfa, where: `${file}:${lineno}` });
  }
  return specs;
}

/**
 * Parses a `.subs`/`.subs_dist` file: `SRC DST` per line, `#` comments. Returned in lookup order
 * (libselinux prepends each line to its list, so the last line is tried first). As libselinux
 * reads with fgets into a 1024-byte buffer, a longer line is read as several.
 */
export function parseSubstitutions(data: Uint8Array, file: string): PathSubstitution[] {
  const out: PathSubstitution[] = [];
  let lineno = 0;
  for (const whole of lines(data, file)) {
    lineno++;
    for (let off = 0; off === 0 || off < whole.length; off += 1022) {
      const line = whole.slice(off, off + 1022);
      const f: string[] = [];
      let p = 0;
      while (f.length < 2) {
        while (p < line.length && isSpace(line.charCodeAt(p))) p++;
        if (p === line.length) break;
        if (f.length === 0 && line[p] === '#') break;
        const s = p;
        while (p < line.length && !isSpace(line.charCodeAt(p))) p++;
        f.push(line.slice(s, p));
      }
      if (f.length < 2) continue;
      if (out.length >= MAX_FC_LINES) fail(file, lineno, 'too many substitutions');
      out.push({ src: f[0]!, dst: f[1]! });
    }
  }
  return out.reverse();
}
