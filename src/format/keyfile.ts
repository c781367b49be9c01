// GLib GKeyFile ("desktop entry" ini syntax) used for the repo `config` and deployment `.origin`
// files. Parsing, value escaping and toString() follow GLib's g_key_file_* behaviour exactly
// (as loaded with G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS), so a file written here
// is byte-identical to what g_key_file_to_data() would produce for the same edits.

import { XylemError } from '../util/errors.ts';

/** A comment or blank line, kept verbatim. */
interface CommentLine {
  key: null;
  text: string;
}
/** A key=value line; `value` is the raw (escaped) text as stored in the file. */
interface PairLine {
  key: string;
  value: string;
}
type Line = CommentLine | PairLine;

interface Group {
  /** null for the unnamed leading section that holds comments before the first group. */
  name: string | null;
  lines: Line[];
}

export interface KeyFileParseOptions {
  /** Keep comments and blank lines for toString() (default true; GLib's G_KEY_FILE_KEEP_COMMENTS). */
  keepComments?: boolean;
}

const LOCALE_SUFFIX = /^\[[\p{L}\p{N}_.@-]*\]$/u;
const CONTROL = /[\x00-\x1f\x7f]/;

/** ASCII whitespace as g_ascii_isspace sees it. */
function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
}

/** g_key_file_is_group_name. */
export function isValidGroupName(name: string): boolean {
  return name.length > 0 && !/[[\]]/.test(name) && !CONTROL.test(name);
}

/** g_key_file_is_key_name: no '=', '[' or ']' except a trailing [locale]; no leading/trailing space. */
export function isValidKeyName(key: string): boolean {
  const bracket = key.search(/[=[\]]/);
  const base = bracket < 0 ? key : key.slice(0, bracket);
  if (base.length === 0 || base.startsWith(' ') || base.endsWith(' ')) return false;
  if (bracket < 0) return true;
  return LOCALE_SUFFIX.test(key.slice(bracket));
}

/** Escapes a value as g_key_file_set_string does (and set_string_list for each item when `list`). */
export function escapeValue(value: string, list: boolean): string {
  let out = '';
  let leading = true;
  for (let k = 0; k < value.length; k++) {
    const c = value[k];
    if (c === ' ' && leading) out += '\\s';
    else if (c === '\t' && leading) out += '\\t';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\\') {
      out += '\\\\';
      leading = false;
    } else if (list && c === ';') out += '\\;';
    else {
      out += c;
      leading = false;
    }
  }
  return out;
}

const ESCAPES: Record<string, string> = { s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\' };

/** Thrown for malformed files and uninterpretable values. */
export class KeyFileError extends XylemError {
  constructor(message: string) {
    super(message, 'EKEYFILE');
    this.name = 'KeyFileError';
  }
}

export class KeyFile {
  private readonly sections: Group[] = [{ name: null, lines: [] }];
  private context: string | undefined;

  /** Parses a file's bytes, rejecting invalid UTF-8 like GLib does. */
  static parseBytes(data: Uint8Array, context?: string, opts?: KeyFileParseOptions): KeyFile {
    if (!(data instanceof Uint8Array)) throw new TypeError('KeyFile.parseBytes: data must be a Uint8Array');
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
    } catch {
      throw new KeyFileError(`${context ? `${context}: ` : ''}key file contains invalid UTF-8`);
    }
    return KeyFile.parse(text, context, opts);
  }

  /** Parses GKeyFile text. Errors name `context` (e.g. the file path) and the 1-based line number. */
  static parse(text: string, context?: string, opts?: KeyFileParseOptions): KeyFile {
    if (typeof text !== 'string') throw new TypeError('KeyFile.parse: text must be a string');
    const kf = new KeyFile();
    kf.context = context;
    const keepComments = opts?.keepComments !== false;
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let current = kf.sections[0];
    for (let n = 0; n < lines.length; n++) {
      let line = lines[n];
      if (line.endsWith('\r')) line = line.slice(0, -1);
      let s = 0;
      while (s < line.length && isSpace(line[s])) s++;
      const body = line.slice(s);
      const where = `${context ? `${context}:` : 'line '}${n + 1}`;
      if (body === '' || body[0] === '#') {
        if (keepComments) current.lines.push({ key: null, text: line });
        continue;
      }
      if (body[0] === '[') {
        const close = body.indexOf(']');
        if (close > 0 && /^[ \t]*$/.test(body.slice(close + 1))) {
          const name = body.slice(1, close);
          if (!isValidGroupName(name)) throw new KeyFileError(`${where}: invalid group name ${JSON.stringify(name)}`);
          const existing = kf.sections.find((g) => g.name === name);
          if (existing) current = existing;
          else kf.sections.push((current = { name, lines: [] }));
          continue;
        }
      }
      const eq = body.indexOf('=');
      if (eq <= 0) {
        throw new KeyFileError(`${where}: line ${JSON.stringify(line)} is not a key-value pair, group, or comment`);
      }
      if (current.name === null) throw new KeyFileError(`${where}: key file does not start with a group`);
      let keyEnd = eq;
      while (keyEnd > 0 && (body[keyEnd - 1] === ' ' || body[keyEnd - 1] === '\t')) keyEnd--;
      const key = body.slice(0, keyEnd);
      if (!isValidKeyName(key)) throw new KeyFileError(`${where}: invalid key name ${JSON.stringify(key)}`);
      let v = eq + 1;
      while (v < body.length && isSpace(body[v])) v++;
      current.lines.push({ key, value: body.slice(v) });
    }
    return kf;
  }

  /** The file text exactly as g_key_file_to_data() would produce it. */
  toString(): string {
    let out = '';
    for (const g of this.sections) {
      // GLib separates groups by at least one empty line.
      if (out.length >= 2 && out[out.length - 2] !== '\n') out += '\n';
      if (g.name !== null) out += `[${g.name}]\n`;
      for (const l of g.lines) out += l.key === null ? `${l.text}\n` : `${l.key}=${l.value}\n`;
    }
    return out;
  }

  /** Group names in file order. */
  groups(): string[] {
    const out: string[] = [];
    for (const g of this.sections) if (g.name !== null) out.push(g.name);
    return out;
  }

  /** Keys of `group` in file order (as g_key_file_get_keys; [] if the group does not exist). */
  keys(group: string): string[] {
    const g = this.group(group);
    const out: string[] = [];
    if (g) for (const l of g.lines) if (l.key !== null) out.push(l.key);
    return out;
  }

  hasGroup(group: string): boolean {
    return this.group(group) !== undefined;
  }

  hasKey(group: string, key: string): boolean {
    return this.pair(group, key) !== undefined;
  }

  /** The raw, still-escaped value (g_key_file_get_value). */
  getRaw(group: string, key: string): string | undefined {
    return this.pair(group, key)?.value;
  }

  /** The unescaped string value (g_key_file_get_string); throws on invalid escape sequences. */
  get(group: string, key: string): string | undefined {
    const raw = this.getRaw(group, key);
    if (raw === undefined) return undefined;
    return this.unescape(raw, false, group, key);
  }

  /** 'true'/'1' or 'false'/'0' (trailing whitespace ignored, as GLib); throws on anything else. */
  getBoolean(group: string, key: string): boolean | undefined {
    const raw = this.getRaw(group, key);
    if (raw === undefined) return undefined;
    const v = raw.replace(/[ \t\n\r\f\v]+$/, '');
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw this.valueError(group, key, raw, 'a boolean');
  }

  /** A 32-bit integer parsed like GLib (strtol base 10); throws on garbage or overflow. */
  getInteger(group: string, key: string): number | undefined {
    const raw = this.getRaw(group, key);
    if (raw === undefined) return undefined;
    const m = /^[ \t\n\r\f\v]*([+-]?[0-9]+)/.exec(raw);
    const rest = m ? raw[m[0].length] : raw[0];
    if (raw === '' || (rest !== undefined && !isSpace(rest))) throw this.valueError(group, key, raw, 'an integer');
    const n = m ? Number(m[1]) : 0;
    if (n < -0x80000000 || n > 0x7fffffff) throw this.valueError(group, key, raw, 'a 32-bit integer');
    return n;
  }

  /** ';'-separated list with '\;' escapes; a final ';' is optional (g_key_file_get_string_list). */
  getStringList(group: string, key: string): string[] | undefined {
    const raw = this.getRaw(group, key);
    if (raw === undefined) return undefined;
    const pieces: string[] = [];
    let start = 0;
    for (let k = 0; k < raw.length; k++) {
      if (raw[k] === '\\') k++;
      else if (raw[k] === ';') {
        pieces.push(raw.slice(start, k));
        start = k + 1;
      }
    }
    pieces.push(raw.slice(start));
    if (pieces[pieces.length - 1] === '') pieces.pop();
    return pieces.map((p) => this.unescape(p, true, group, key));
  }

  /** Sets a string value, escaped as g_key_file_set_string; new groups/keys are appended at the end. */
  set(group: string, key: string, value: string): void {
    if (typeof value !== 'string') throw new TypeError('KeyFile.set: value must be a string');
    this.setRaw(group, key, escapeValue(value, false));
  }

  setBoolean(group: string, key: string, value: boolean): void {
    if (typeof value !== 'boolean') throw new TypeError('KeyFile.setBoolean: value must be a boolean');
    this.setRaw(group, key, value ? 'true' : 'false');
  }

  setInteger(group: string, key: string, value: number): void {
    if (!Number.isSafeInteger(value)) throw new TypeError(`KeyFile.setInteger: ${value} is not a safe integer`);
    this.setRaw(group, key, String(value));
  }

  setStringList(group: string, key: string, values: string[]): void {
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      throw new TypeError('KeyFile.setStringList: values must be an array of strings');
    }
    let raw = '';
    for (const v of values) raw += escapeValue(v, true) + ';';
    this.setRaw(group, key, raw);
  }

  /** Stores an already-escaped value verbatim (g_key_file_set_value). */
  setRaw(group: string, key: string, raw: string): void {
    if (!isValidGroupName(group)) throw new TypeError(`KeyFile: invalid group name ${JSON.stringify(group)}`);
    if (!isValidKeyName(key)) throw new TypeError(`KeyFile: invalid key name ${JSON.stringify(key)}`);
    if (typeof raw !== 'string' || raw.includes('\n')) throw new TypeError('KeyFile: raw value must be a single line');
    const existing = this.pair(group, key);
    if (existing) {
      existing.value = raw;
      return;
    }
    let g = this.group(group);
    if (!g) this.sections.push((g = { name: group, lines: [] }));
    g.lines.push({ key, value: raw });
  }

  /** Removes the key (its last occurrence, as GLib); returns whether it existed. */
  remove(group: string, key: string): boolean {
    const g = this.group(group);
    if (!g) return false;
    for (let k = g.lines.length - 1; k >= 0; k--) {
      if (g.lines[k].key === key) {
        g.lines.splice(k, 1);
        return true;
      }
    }
    return false;
  }

  /** Removes a whole group with its keys and comments; returns whether it existed. */
  removeGroup(group: string): boolean {
    const k = this.sections.findIndex((g) => g.name === group);
    if (k <= 0) return false;
    this.sections.splice(k, 1);
    return true;
  }

  private group(name: string): Group | undefined {
    if (typeof name !== 'string') throw new TypeError('KeyFile: group name must be a string');
    for (let k = 1; k < this.sections.length; k++) if (this.sections[k].name === name) return this.sections[k];
    return undefined;
  }

  /** The pair GLib's lookup finds: the last occurrence of `key` in the group. */
  private pair(group: string, key: string): PairLine | undefined {
    const g = this.group(group);
    if (!g) return undefined;
    for (let k = g.lines.length - 1; k >= 0; k--) {
      const l = g.lines[k];
      if (l.key === key) return l as PairLine;
    }
    return undefined;
  }

  private unescape(raw: string, list: boolean, group: string, key: string): string {
    if (!raw.includes('\\')) return raw;
    let out = '';
    for (let k = 0; k < raw.length; k++) {
      const c = raw[k];
      if (c !== '\\') {
        out += c;
        continue;
      }
      const next = raw[++k];
      if (next === undefined) throw this.valueError(group, key, raw, 'a string (escape character at end of line)');
      const mapped = ESCAPES[next] ?? (list && next === ';' ? ';' : undefined);
      if (mapped === undefined) throw this.valueError(group, key, raw, `a string (invalid escape sequence \\${next})`);
      out += mapped;
    }
    return out;
  }

  private valueError(group: string, key: string, raw: string, what: string): KeyFileError {
    const where = this.context ? `${this.context}: ` : '';
    return new KeyFileError(`${where}key ${JSON.stringify(key)} in group ${JSON.stringify(group)} has value ${JSON.stringify(raw)} that cannot be interpreted as ${what}`);
  }
}
