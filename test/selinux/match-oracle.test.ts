// The file labelling matcher against libselinux itself: Debian's refpolicy (selinux-policy-default)
// loaded by Xylem from a policy root, and the same text files given to `matchpathcon -f`, must give
// the same context for every path and file type: thousands of this machine's real paths (all of
// /etc and /boot, a sample of /usr and /var, each with its real type and with every other type),
// one or more paths generated from every spec's own regex (random walks of the compiled pattern,
// then mutated: doubled and trailing slashes, a final newline, children, parents), and tricky
// hand-picked ones (the .subs_dist aliases, home directories, relative paths, UTF-8 names).

import { lstatSync, mkdtempSync, readdirSync, rmSync, type Dirent } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { loadPolicyFromDirectory, type SePolicy } from '../../src/selinux/index.ts';
import { N_BOL, N_CHAR, N_EOL, N_EPS, N_MATCH, N_SPLIT, type Nfa } from '../../src/selinux/regex.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_MATCHPATHCON, HAVE_REFPOLICY, TYPE_LETTERS, matchpathcon, rng, writePolicyRoot, type TypeLetter } from '../helpers/selinux.ts';

function letterOf(d: Dirent): TypeLetter {
  if (d.isDirectory()) return 'd';
  if (d.isSymbolicLink()) return 'l';
  if (d.isCharacterDevice()) return 'c';
  if (d.isBlockDevice()) return 'b';
  if (d.isFIFO()) return 'p';
  if (d.isSocket()) return 's';
  return 'f';
}

/** Paths under `root` with their types: all of them, or every `every`-th plus all down to depth 3. */
function walk(root: string, every: number, out: Array<[string, TypeLetter]>): void {
  let n = 0;
  const rec = (dir: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.includes('\uFFFD')) continue;
      const p = join(dir, e.name);
      if (depth <= 3 || n++ % every === 0) out.push([p, letterOf(e)]);
      if (e.isDirectory()) rec(p, depth + 1);
    }
  };
  out.push([root, 'd']);
  rec(root, 2);
}

/** A string the pattern matches (usually): a random walk from the NFA's start to its end. */
function sample(nfa: Nfa, next: () => number): string | null {
  let n = nfa.start;
  let out = '';
  for (let steps = 0; steps < 300; steps++) {
    switch (nfa.kind[n]) {
      case N_MATCH:
        return out;
      case N_CHAR: {
        const set = nfa.sets[nfa.setOf[n]!]!;
        const printable: number[] = [];
        for (let c = 0x20; c < 0x7f; c++) if (set[c]) printable.push(c);
        if (printable.length === 0) return null;
        const letters = printable.filter((c) => /[a-z0-9]/.test(String.fromCharCode(c)));
        const pool = letters.length > 0 && next() < 0.8 ? letters : printable;
        out += String.fromCharCode(pool[Math.floor(next() * pool.length)]!);
        n = nfa.out1[n]!;
        break;
      }
      case N_SPLIT:
        // out2 skips (a loop's exit, an optional part, the next alternative): prefer it as it grows.
        n = next() < (steps > 60 ? 0.9 : 0.45) ? nfa.out2[n]! : nfa.out1[n]!;
        break;
      case N_BOL:
      case N_EOL:
      case N_EPS:
        n = nfa.out1[n]!;
        break;
    }
  }
  return null;
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

const TRICKY = [
  '/', '//', '/usr/', '/usr//bin///ls', '/usr/bin/ls/', 'usr/bin/ls', 'etc', '/lib64/ld-linux-x86-64.so.2', '/lib/systemd/systemd',
  '/bin/sh', '/sbin/init', '/var/run/dbus/system_bus_socket', '/var/run', '/run/lock/subsys', '/usr/local/lib64/libx.so',
  '/usr/local/lib/python3/dist-packages/x.py', '/usr/libx32/x', '/usr/lib32', '/etc/init.d/ssh', '/etc/systemd/system/foo.service',
  '/etc/systemd/user/x', '/var/lib/private/x', '/var/cache/private', '/home/alice/.ssh/authorized_keys', '/home/alice', '/home',
  '/root/.ssh/known_hosts', '/proc', '/proc/1/status', '/sys/fs/selinux', '/etc/passwd\n', '/etc/passwd\n\n', '/usr/bin/ls\n',
  '/usr/bin\n/ls', '/dev/null', '/dev/tty1', '/dev/pts/0', '/home/élodie/x', '/usr/lib/python3/ünïcode.py', '/tmp', '/tmp/.X11-unix/X0',
  '/usr/lib/' + 'a/'.repeat(500) + 'x.so', '/usr/share/man/man1/ls.1.gz', '/usr/src/kernels/x', '/opt/foo/bin/bar', '/srv/www',
  '/etc/selinux/default/contexts/files/file_contexts', '/usr/lib/modules/6.1.0/vmlinuz', '/boot/vmlinuz-6.1.0', '/var/log/messages',
  '/var/lib/rpm/rpmdb.sqlite', '/usr/share/rpm', '/usr/etc/ssh/sshd_config', '/sysroot', '/ostree/repo/objects', '/var/home/u',
];

describe.skipIf(missing('SELinux matcher vs matchpathcon', { matchpathcon: HAVE_MATCHPATHCON, 'selinux-policy-default': HAVE_REFPOLICY }))(
  'file_contexts lookup equals libselinux (matchpathcon) on refpolicy',
  () => {
    let dir: string;
    let fcFile: string;
    let policy: SePolicy;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'xylem-selinux-'));
      fcFile = writePolicyRoot(dir);
      const p = await loadPolicyFromDirectory(createNodeHost().fs, dir);
      if (!p) throw new Error('policy not enabled in /etc/selinux/config');
      policy = p;
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const ours = (paths: readonly string[], mode: number) => paths.map((p) => policy.contexts.lookup(p, mode) ?? '<<none>>');

    it('loads the whole policy (file_contexts, .homedirs) and labels / as root_t', () => {
      expect(policy.name).toBe('default');
      expect(policy.contexts.size).toBeGreaterThan(5000);
      expect(policy.contexts.lookup('/', 0o040755)).toBe(matchpathcon(fcFile, ['/'], 'd')[0]);
    });

    it('every real path of /etc and /boot and a sample of /usr, /var, /opt, with its own type', () => {
      const real: Array<[string, TypeLetter]> = [];
      walk('/etc', 1, real);
      walk('/boot', 1, real);
      walk('/usr', 40, real);
      walk('/var', 60, real);
      walk('/opt', 10, real);
      expect(real.length).toBeGreaterThan(3000);
      const byType = new Map<TypeLetter, string[]>();
      for (const [p, t] of real) {
        if (!byType.has(t)) byType.set(t, []);
        byType.get(t)!.push(p);
      }
      let compared = 0;
      const t0 = performance.now();
      for (const [t, paths] of byType) {
        expect(ours(paths, TYPE_LETTERS[t] | 0o644), `type ${t}`).toEqual(matchpathcon(fcFile, paths, t));
        compared += paths.length;
      }
      console.log(`selinux oracle: ${compared} real paths compared (${Math.round(performance.now() - t0)} ms with the oracle)`);
    });

    it('a sample of real paths with every other file type', () => {
      const real: Array<[string, TypeLetter]> = [];
      walk('/usr', 400, real);
      walk('/etc', 8, real);
      const paths = real.map(([p]) => p);
      for (const t of Object.keys(TYPE_LETTERS) as TypeLetter[]) expect(ours(paths, TYPE_LETTERS[t]), `type ${t}`).toEqual(matchpathcon(fcFile, paths, t));
    });

    it('paths generated from every spec of the policy, and mutations of them, for type 0, file and directory', () => {
      const next = rng(0x5e11);
      const specs = (policy.contexts as unknown as { specs: Array<{ nfa: Nfa }> }).specs;
      const gen = new Set<string>(TRICKY);
      for (const [i, s] of specs.entries()) {
        const a = sample(s.nfa, next);
        if (a === null || a === '') continue;
        gen.add(a);
        if (i % 3 === 0) {
          const b = sample(s.nfa, next);
          if (b) gen.add(b);
        }
        if (i % 4 === 0) {
          const m = Math.floor(next() * 6);
          gen.add([a + '/', a.replace('/', '//'), a + '\n', a + '/x/y.conf', a.slice(0, a.lastIndexOf('/')) || '/', a.slice(0, -1) || '/'][m]!);
        }
      }
      const paths = [...gen].filter((p) => p.length > 0 && !p.startsWith('-'));
      expect(paths.length).toBeGreaterThan(5000);
      // Type 0 (matchpathcon takes the lstat type of a path that exists, so only those that do not).
      const absent = paths.filter((p) => !exists(p.endsWith('/') && p.length > 1 ? p.slice(0, -1) : p));
      expect(ours(absent, 0)).toEqual(matchpathcon(fcFile, absent));
      expect(ours(paths, 0o100644)).toEqual(matchpathcon(fcFile, paths, 'f'));
      expect(ours(paths, 0o040755)).toEqual(matchpathcon(fcFile, paths, 'd'));
      console.log(`selinux oracle: ${paths.length} generated paths compared (${absent.length} also with type 0)`);
    });

    it('looks up 100k paths in well under a few seconds', () => {
      const paths: string[] = [];
      const real: Array<[string, TypeLetter]> = [];
      walk('/usr', 1, real);
      for (const [p] of real) if (paths.length < 100_000) paths.push(p);
      while (paths.length < 100_000) paths.push(`/usr/share/doc/pkg${paths.length}/README`);
      const t0 = performance.now();
      let labelled = 0;
      for (const p of paths) if (policy.contexts.lookup(p, 0o100644) !== null) labelled++;
      const ms = performance.now() - t0;
      console.log(`selinux lookup: ${paths.length} paths in ${Math.round(ms)} ms (${labelled} labelled)`);
      expect(labelled).toBeGreaterThan(90_000);
      expect(ms).toBeLessThan(30_000); // ~1-3 s on a quiet 2-core machine; generous for a loaded one
    });
  },
  600_000,
);
