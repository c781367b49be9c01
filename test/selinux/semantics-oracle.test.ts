// libselinux's lookup rules one by one, each against matchpathcon on a small hand-written
// file_contexts: the regex dialect (PCRE2 with DOTALL, 8-bit, anchored by concatenation), the
// stem pruning, the spec ordering (exact names after patterns, later lines win, .homedirs and
// .local after file_contexts), file type filters, <<none>>, and the .subs/.subs_dist aliases.

import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileContexts, parseFileContexts, parseSubstitutions } from '../../src/selinux/index.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_MATCHPATHCON, TYPE_LETTERS, matchpathcon, type TypeLetter } from '../helpers/selinux.ts';

const enc = (s: string) => new TextEncoder().encode(s);

function exists(p: string): boolean {
  try {
    lstatSync(p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p);
    return true;
  } catch {
    return false;
  }
}

/** Regexes and subjects: does `^regex$` match, as libselinux's PCRE2 says. */
const REGEXES: Array<[string, string[]]> = [
  ['/a|/b/c', ['/a', '/b/c', '/ab', '/a/x', '/x/b/c', '/zz/b/c', '/b']],
  ['/abc/x|/def/y', ['/abc/x', '/def/y', '/abc/def/y', '/abc/q/def/y']],
  ['/ab|cd/x', ['/ab', '/abcd/x', 'cd/x', '/q/cd/x']],
  ['/x', ['/x', '/x\n', '/x\n\n', '/x/']],
  ['/x\\n', ['/x\n', '/x\n\n']],
  ['/a.b', ['/a.b', '/axb', '/a\nb', '/a/b', '/aéb', '/aé']],
  ['/a..', ['/aé', '/ab', '/a']],
  ['/[]a]x', ['/]x', '/ax', '/bx']],
  ['/[^]a]x', ['/]x', '/ax', '/bx', '/\nx']],
  ['/[a-]x', ['/-x', '/ax', '/bx']],
  ['/[-a]x', ['/-x', '/ax']],
  ['/[[:digit:]]+', ['/123', '/12a', '/']],
  ['/[[:^alpha:]]', ['/1', '/a', '/-']],
  ['/[[:alnum:]_.-]+', ['/a_b.c-d', '/a b']],
  ['/\\d\\w\\s\\S', ['/1a x', '/1a\tx', '/1a\vx', '/xa x', '/1a  ']],
  ['/\\D\\W', ['/a/', '/1/', '/aa']],
  ['/a{2}', ['/aa', '/a', '/aaa']],
  ['/a{2,}', ['/aa', '/aaaaa', '/a']],
  ['/a{1,3}b', ['/ab', '/aaab', '/aaaab', '/b']],
  ['/a{,3}', ['/a{,3}', '/aaa', '/a']],
  ['/a{x}', ['/a{x}', '/a']],
  ['/{a}', ['/{a}']],
  ['/a{2}?', ['/aa', '/a']],
  ['/a.*?b', ['/ab', '/axxb', '/a']],
  ['/a+?', ['/a', '/aaa']],
  ['/a\\.b\\/c\\-d\\+', ['/a.b/c-d+', '/axb/c-d+']],
  ['/\\x41\\x{42}\\101', ['/AB\\101', '/ABA', '/AB']],
  ['/\\0101', ['/A', '/\u00081']],
  ['/(?:ab)+', ['/abab', '/aba']],
  ['/(a|)b', ['/ab', '/b', '/aab']],
  ['/((a|b)(c|d))*x', ['/acbdx', '/x', '/abx']],
  ['/a$|/b', ['/a', '/b', '/bc']],
  ['/a$b', ['/ab', '/a']],
  ['^/a', ['/a']],
  ['/a]b}', ['/a]b}']],
  ['/(.*/)?lib(/.*)?', ['/lib', '/usr/lib', '/usr/lib/x', '/usr/libx', '/x/y/lib/z']],
  ['/[a-c]*z', ['/abcz', '/abdz']],
  ['/.*\\.so(\\.[^/]*)*', ['/usr/lib/x.so', '/usr/lib/x.so.1.2', '/usr/lib/x.so/y', '/x.sox']],
  ['/(a*)*b', ['/aaaab', '/aaaa' + 'a'.repeat(200)]],
  ['/\\t\\r\\f\\e\\a', ['/\t\r\f\u001b\u0007']],
  // A trailing backslash escapes the '$' it is compiled before: a literal '$', no end anchor.
  ['/a\\', ['/a$', '/a$xyz', '/a', '/a\\']],
];

describe.skipIf(missing('SELinux semantics vs matchpathcon', { matchpathcon: HAVE_MATCHPATHCON }))('libselinux lookup semantics', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-selinux-sem-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes file_contexts (and optional siblings) into a fresh folder; returns its path. */
  let n = 0;
  function db(files: Record<string, string>): string {
    const d = join(dir, `db${n++}`);
    mkdirSync(d);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
    return join(d, 'file_contexts');
  }

  function load(fc: string, files: Record<string, string>): FileContexts {
    const specs = parseFileContexts(enc(files['file_contexts']!), fc);
    for (const extra of ['file_contexts.homedirs', 'file_contexts.local'])
      if (files[extra] !== undefined) specs.push(...parseFileContexts(enc(files[extra]!), extra));
    return new FileContexts({
      specs,
      subs: files['file_contexts.subs'] !== undefined ? parseSubstitutions(enc(files['file_contexts.subs']), 'subs') : [],
      distSubs: files['file_contexts.subs_dist'] !== undefined ? parseSubstitutions(enc(files['file_contexts.subs_dist']), 'subs_dist') : [],
    });
  }

  function compare(files: Record<string, string>, paths: string[], types: Array<TypeLetter | undefined> = [undefined]): void {
    const fc = db(files);
    const ours = load(fc, files);
    for (const t of types) {
      const mode = t ? TYPE_LETTERS[t] : 0;
      // Without a type matchpathcon takes the one lstat finds: type 0 only for paths that do not exist.
      const these = t ? paths : paths.filter((p) => !exists(p));
      const got = these.map((p) => ours.lookup(p, mode) ?? '<<none>>');
      expect(got, `${JSON.stringify(files)} type ${t ?? 0}`).toEqual(matchpathcon(fc, these, t));
    }
  }

  it('regex dialect: PCRE2, DOTALL, bytes, anchoring by concatenation', () => {
    for (const [re, subjects] of REGEXES) compare({ file_contexts: `${re} system_u:object_r:hit_t:s0\n` }, subjects, ['f']);
  });

  it('stem pruning: a spec whose text before its second / differs from the path\'s is never tried', () => {
    const fc = '/a\\-b/c system_u:object_r:esc_t:s0\n/q(/.*)? system_u:object_r:q_t:s0\n/q/r|/z/y system_u:object_r:alt_t:s0\n';
    compare({ file_contexts: fc }, ['/a-b/c', '/a\\-b/c', '/q/r', '/z/y', '/q', '/z/y/'], ['f']);
  });

  it('ordering: exact names win over patterns, later lines over earlier, .homedirs and .local last', () => {
    const files = {
      file_contexts: [
        '/.* system_u:object_r:default_t:s0',
        '/usr/bin/ls system_u:object_r:exact1_t:s0',
        '/usr/bin(/.*)? system_u:object_r:bin_t:s0',
        '/usr/bin/.* system_u:object_r:later_t:s0',
        '/usr/bin/l\\s system_u:object_r:escaped_exact_t:s0',
        '/usr/lib(/.*)? -d system_u:object_r:libdir_t:s0',
        '/usr/lib(/.*)? -- system_u:object_r:libfile_t:s0',
        '/usr/lib/x -l system_u:object_r:liblink_t:s0',
        '/usr/lib/none <<none>>',
        '/usr/lib/none2(/.*)? <<none>>',
        '/dev/x -c system_u:object_r:chr_t:s0',
        '/dev/x -b system_u:object_r:blk_t:s0',
        '/dev/x -p system_u:object_r:fifo_t:s0',
        '/dev/x -s system_u:object_r:sock_t:s0',
        '',
        '   # indented comment',
        '/extra/fields -- system_u:object_r:a_t:s0 ignored trailing',
      ].join('\n'),
      'file_contexts.homedirs': '/home/[^/]+(/.*)? system_u:object_r:home_t:s0\n/usr/bin/.* system_u:object_r:homedirs_t:s0\n',
      'file_contexts.local': '/home/u/keep(/.*)? system_u:object_r:local_t:s0\n/usr/bin/cat system_u:object_r:local_exact_t:s0\n',
    };
    const paths = ['/usr/bin/ls', '/usr/bin/cat', '/usr/bin', '/usr/lib', '/usr/lib/x', '/usr/lib/y', '/usr/lib/none', '/usr/lib/none2/a', '/dev/x', '/home/u', '/home/u/keep/x', '/extra/fields', '/usr/bin/l\\s', '/other'];
    compare(files, paths, [undefined, 'f', 'd', 'l', 'c', 'b', 'p', 's']);
  });

  it('path aliases: .subs then .subs_dist, whole components, "/" destinations', () => {
    const files = {
      file_contexts: '/.* system_u:object_r:default_t:s0\n/usr/lib(/.*)? system_u:object_r:lib_t:s0\n/srv/data(/.*)? system_u:object_r:data_t:s0\n/ system_u:object_r:root_t:s0\n/top(/.*)? system_u:object_r:top_t:s0\n',
      'file_contexts.subs_dist': '# comment\n/lib64 /usr/lib\n/web /srv/data\n  /lib /usr/lib  \n/chain /usr/lib\n',
      'file_contexts.subs': '/mnt/web /web\n/alias /\n/lib64 /top\nonlyonefield\n',
    };
    const paths = ['/lib64', '/lib64/x', '/lib64x', '/lib/a', '/web/x', '/mnt/web/x', '/mnt/web', '/alias', '/alias/top/x', '/alias/x', '/chain/q', '/lib64//x', '/lib64/'];
    compare(files, paths, [undefined, 'f']);
  });
});
