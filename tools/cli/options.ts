// GOption-compatible argument parsing for commands: --long=value, --long value, -x value, -xvalue,
// repeated options collected into arrays, options and positionals intermixed, `--` ends options.
// The same specs render the help (help.ts): meeting -h/--help throws HelpRequested at once, so a
// command never does anything when asked for help (as GLib, options before it are still checked).

import { UsageError } from './context.ts';
import { HelpRequested } from './help.ts';

export interface OptionSpec {
  /** Long name without dashes. */
  name: string;
  short?: string;
  /** 'flag' takes no value; 'string' takes one; 'strings' takes one per use, collected. */
  kind: 'flag' | 'string' | 'strings';
  /** One line for the help's option table. */
  description?: string;
  /** The value's placeholder in the help (--branch=BRANCH); default: the name in capitals. */
  arg?: string;
  /** Accepted but not listed in the help (compatibility spellings). */
  hidden?: boolean;
}

export interface Parsed {
  flags: Set<string>;
  values: Map<string, string>;
  lists: Map<string, string[]>;
  positionals: string[];
  flag(name: string): boolean;
  value(name: string): string | undefined;
  list(name: string): string[];
}

export function parseOptions(argv: string[], specs: OptionSpec[]): Parsed {
  const byLong = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  for (const s of specs) {
    byLong.set(s.name, s);
    if (s.short) byShort.set(s.short, s);
  }
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const positionals: string[] = [];
  const put = (s: OptionSpec, v: string | undefined) => {
    if (s.name === 'help' && s.kind === 'flag') throw new HelpRequested();
    if (s.kind === 'flag') flags.add(s.name);
    else if (s.kind === 'string') values.set(s.name, v!);
    else {
      const l = lists.get(s.name) ?? [];
      l.push(v!);
      lists.set(s.name, l);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const s = byLong.get(name);
      if (!s) throw new UsageError(`Unknown option ${a}`); // (GLib names the whole argument, value included)
      if (s.kind === 'flag') {
        // GLib's option parser sets a flag given as --flag=VALUE and ignores VALUE.
        put(s, undefined);
      } else if (eq >= 0) put(s, a.slice(eq + 1));
      else {
        if (i + 1 >= argv.length) throw new UsageError(`Missing argument for --${name}`);
        put(s, argv[++i]!);
      }
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const s = byShort.get(a[j]!);
        if (!s) throw new UsageError(`Unknown option -${a[j]}`);
        if (s.kind === 'flag') {
          put(s, undefined);
          continue;
        }
        const rest = a.slice(j + 1);
        if (rest) put(s, rest.startsWith('=') ? rest.slice(1) : rest);
        else {
          if (i + 1 >= argv.length) throw new UsageError(`Missing argument for -${a[j]}`);
          put(s, argv[++i]!);
        }
        break;
      }
    } else positionals.push(a);
  }
  return {
    flags,
    values,
    lists,
    positionals,
    flag: (n) => flags.has(n),
    value: (n) => values.get(n),
    list: (n) => lists.get(n) ?? [],
  };
}
