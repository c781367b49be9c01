// Basic rpm macro expansion for scriptlets: `%post -e` bodies and Lua's rpm.expand/define/
// isdefined. Handles %name, %{name}, %{?name}, %{?name:text}, %{!?name:text}, %% and %{nil},
// with rpm's defaults for the directory macros; undefined macros stay as written (as rpm does).
// Parametric macros, %(shell) and %{lua:} are refused: scriptlets must not reach the build host.

import { XylemError } from '../../util/errors.ts';

const MAX_DEPTH = 64;
const MAX_OUTPUT = 1 << 20;
const MAX_MACROS = 10_000;

/** rpm's usual values for the macros scriptlets use (x86_64, rpm-ostree's %_dbpath). */
export function defaultMacros(): Map<string, string> {
  return new Map(
    Object.entries({
      nil: '',
      _prefix: '/usr',
      _exec_prefix: '%{_prefix}',
      _bindir: '%{_exec_prefix}/bin',
      _sbindir: '%{_exec_prefix}/sbin',
      _libdir: '%{_prefix}/lib64',
      _libexecdir: '%{_exec_prefix}/libexec',
      _datadir: '%{_prefix}/share',
      _includedir: '%{_prefix}/include',
      _mandir: '%{_datadir}/man',
      _infodir: '%{_datadir}/info',
      _docdir: '%{_datadir}/doc',
      _sysconfdir: '/etc',
      _localstatedir: '/var',
      _sharedstatedir: '/var/lib',
      _rundir: '/run',
      _tmppath: '/var/tmp',
      _unitdir: '/usr/lib/systemd/system',
      _userunitdir: '/usr/lib/systemd/user',
      _tmpfilesdir: '/usr/lib/tmpfiles.d',
      _sysusersdir: '/usr/lib/sysusers.d',
      _rpmconfigdir: '/usr/lib/rpm',
      _dbpath: '/usr/share/rpm',
      _install_langs: 'all',
    }),
  );
}

/** A macro table with rpm's define/undefine semantics (a stack per name). */
export class MacroTable {
  private readonly stacks = new Map<string, string[]>();
  constructor(initial: Map<string, string> = defaultMacros()) {
    for (const [k, v] of initial) this.stacks.set(k, [v]);
  }
  get(name: string): string | undefined {
    const s = this.stacks.get(name);
    return s && s.length > 0 ? s[s.length - 1] : undefined;
  }
  isDefined(name: string): boolean {
    return this.get(name) !== undefined;
  }
  /** rpm.define("name body"): pushes a definition. */
  define(spec: string): void {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?\s+([\s\S]*)$/.exec(spec);
    if (!m) throw new XylemError(`error defining macro: ${JSON.stringify(spec.slice(0, 80))}`, 'EINVAL');
    if (m[2]) throw new XylemError(`parametric macros are not supported: %${m[1]}${m[2]}`, 'ENOTSUP');
    if (this.stacks.size >= MAX_MACROS && !this.stacks.has(m[1]!)) throw new XylemError('too many macros defined', 'E2BIG');
    const stack = this.stacks.get(m[1]!) ?? [];
    stack.push(m[3]!.replace(/\s+$/, ''));
    this.stacks.set(m[1]!, stack);
  }
  undefine(name: string): void {
    this.stacks.get(name)?.pop();
  }
  /** Expands `text`. */
  expand(text: string): string {
    const out = expandInner(this, text, 0);
    return out;
  }
}

function expandInner(t: MacroTable, text: string, depth: number): string {
  if (depth > MAX_DEPTH) throw new XylemError('macro expansion too deep (recursive macro?)', 'ELOOP');
  let out = '';
  let i = 0;
  while (i < text.length) {
    const pct = text.indexOf('%', i);
    if (pct < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, pct);
    i = pct + 1;
    const c = text[i];
    if (c === '%') {
      out += '%';
      i++;
    } else if (c === '{') {
      let level = 1;
      let j = i + 1;
      while (j < text.length && level > 0) {
        if (text[j] === '{') level++;
        else if (text[j] === '}') level--;
        j++;
      }
      if (level !== 0) throw new XylemError(`unterminated %{ in ${JSON.stringify(text.slice(pct, pct + 40))}`, 'EINVAL');
      out += expandBraced(t, text.slice(i + 1, j - 1), depth);
      i = j;
    } else if (c === '(' || c === '[') {
      throw new XylemError(`%${c}…) expansion is not supported in scriptlets`, 'ENOTSUP');
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      if (!m) {
        out += '%';
        continue;
      }
      const v = t.get(m[0]);
      out += v === undefined ? `%${m[0]}` : expandInner(t, v, depth + 1);
      i += m[0].length;
    }
    if (out.length > MAX_OUTPUT) throw new XylemError('macro expansion larger than 1 MiB', 'E2BIG');
  }
  return out;
}

function expandBraced(t: MacroTable, inner: string, depth: number): string {
  const m = /^(!?)(\??)(!?)([A-Za-z_][A-Za-z0-9_]*)(?::([\s\S]*))?$/.exec(inner);
  if (!m) {
    if (inner.startsWith('lua:')) throw new XylemError('%{lua:…} is not supported in scriptlets', 'ENOTSUP');
    throw new XylemError(`unsupported macro %{${inner.slice(0, 40)}}`, 'ENOTSUP');
  }
  const negate = m[1] === '!' || m[3] === '!';
  const query = m[2] === '?';
  const name = m[4]!;
  const alt = m[5];
  const defined = t.isDefined(name);
  if (query) {
    if (negate) return defined ? '' : alt !== undefined ? expandInner(t, alt, depth + 1) : '';
    if (!defined) return '';
    return alt !== undefined ? expandInner(t, alt, depth + 1) : expandInner(t, t.get(name)!, depth + 1);
  }
  if (alt !== undefined) throw new XylemError(`unsupported macro %{${inner.slice(0, 40)}}`, 'ENOTSUP');
  return defined ? expandInner(t, t.get(name)!, depth + 1) : `%{${inner}}`;
}
