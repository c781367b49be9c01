// Hostile input for the SELinux policy readers: file_contexts lines libselinux itself refuses
// (checked against matchpathcon failing to open the same file), regexes that cannot be compiled
// or would be too large (refused with file:line), patterns that make backtracking engines blow up
// (matched here in linear time), oversized files, and policy trees whose config or symlinks try
// to reach outside the tree.

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import {
  FileContexts,
  MAX_FC_FILE_BYTES,
  loadPolicyFromDirectory,
  parseFileContexts,
  parseSubstitutions,
} from '../../src/selinux/index.ts';
import { XylemError } from '../../src/util/errors.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_MATCHPATHCON, matchpathconOpenError } from '../helpers/selinux.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const CTX = 'system_u:object_r:x_t:s0';

/** Lines libselinux 3.4 refuses too (its whole database then fails to open). */
const REFUSED_BY_BOTH: Array<[string, RegExp]> = [
  [`/a\n/b\n/c ${CTX}\n`, /:1: line is missing fields/],
  [`/ok ${CTX}\n/é ${CTX}\n`, /:2: Non-ASCII characters found/],
  [`/ok -x ${CTX}\n`, /:1: invalid file type -x/],
  [`/ok --- ${CTX}\n`, /:1: invalid file type ---/],
  [`/extra ${CTX} ${CTX} trailing\n`, /:1: invalid file type/],
];

/** Regexes refused here, each with where and why (PCRE2 refuses the invalid ones as well). */
const BAD_REGEXES: Array<[string, RegExp]> = [
  ['/a(b', /missing closing parenthesis/],
  ['/a)b', /unmatched closing parenthesis/],
  ['/[abc', /missing terminating \]/],
  ['*a', /quantifier does not follow a repeatable item/],
  ['/a**', /quantifier does not follow a repeatable item/],
  ['/(a)\\1', /back-references are not supported/],
  ['/(?=a)', /\(\? groups other than \(\?: are not supported/],
  ['/(?i)a', /\(\? groups other than/],
  ['/a*+', /possessive quantifiers are not supported/],
  ['/a{3,1}', /numbers out of order/],
  ['/a{1000}', /repeat count above 255/],
  ['/a{99999}', /number too big in \{\} quantifier/],
  ['/[z-a]', /range out of order/],
  ['/[\\d-z]', /invalid range in character class/],
  ['/[[:nope:]]', /unknown POSIX class name nope/],
  ['/[[.a.]]', /POSIX collating elements are not supported/],
  ['[:alpha:]', /POSIX named classes are supported only within a class/],
  ['/\\bword', /word boundary/],
  ['/\\p{L}', /unsupported escape \\p/],
  ['/' + 'a'.repeat(5000), /regex longer than 4096/],
  ['/((((a{255}){255})))', /pattern too large/],
  ['/' + '('.repeat(300) + ')'.repeat(300), /nested too deeply/],
];

describe('SELinux policy readers: hostile input', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-selinux-hostile-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe.skipIf(missing('file_contexts refusals vs libselinux', { matchpathcon: HAVE_MATCHPATHCON }))('lines libselinux refuses', () => {
    it('are refused with file:line, and libselinux refuses them too', () => {
      for (const [i, [text, why]] of REFUSED_BY_BOTH.entries()) {
        const f = join(dir, `refused${i}`);
        writeFileSync(f, text);
        expect(() => parseFileContexts(enc(text), f)).toThrow(why);
        expect(() => parseFileContexts(enc(text), f)).toThrow(new RegExp(`^${f}:\\d+: `));
        expect(matchpathconOpenError(f), `libselinux on ${JSON.stringify(text)}`).toMatch(/Error while opening file contexts database/);
      }
    });

    it('an invalid regex line names the file and line', () => {
      const f = join(dir, 'badre');
      const text = `/ok ${CTX}\n\n# c\n/a(b ${CTX}\n`;
      writeFileSync(f, text);
      let err: unknown;
      try {
        parseFileContexts(enc(text), f);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(XylemError);
      expect((err as XylemError).message).toBe(`${f}:4: invalid regex /a(b: missing closing parenthesis at offset 2`);
      expect((err as XylemError).code).toBe('EINVAL');
    });
  });

  it('regexes that cannot (or should not) be compiled are refused with the reason', () => {
    for (const [re, why] of BAD_REGEXES) {
      expect(() => parseFileContexts(enc(`${re} ${CTX}\n`), 'fc'), re.slice(0, 40)).toThrow(why);
    }
  });

  it('patterns that backtrack catastrophically elsewhere match in linear time', () => {
    const specs = parseFileContexts(
      enc(['/(a*)*b', '/(a|a)*b', '/(.*a){12}', '/(a+)+$', '/.*.*.*.*.*.*.*.*x'].map((r, i) => `${r} system_u:object_r:p${i}_t:s0`).join('\n')),
      'fc',
    );
    const fc = new FileContexts({ specs });
    const t0 = performance.now();
    for (const len of [100, 1000, 4000]) {
      expect(fc.lookup('/' + 'a'.repeat(len) + '!', 0)).toBeNull();
      expect(fc.lookup('/' + 'a'.repeat(len) + 'b', 0)).toBe('system_u:object_r:p1_t:s0');
    }
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('caps file sizes and refuses NUL bytes', () => {
    expect(() => parseFileContexts(new Uint8Array(MAX_FC_FILE_BYTES + 1), 'big')).toThrow(/big: larger than/);
    expect(() => parseFileContexts(enc(`/a ${CTX}\n/b\0 ${CTX}\n`), 'nul')).toThrow(/nul:2: NUL byte/);
    expect(() => parseSubstitutions(enc('/a /b\n/c\0 /d\n'), 'subs')).toThrow(/subs:2: NUL byte/);
    expect(() => new FileContexts({ specs: parseFileContexts(enc(`/a ${CTX}\n`), 'fc') }).lookup('', 0)).toThrow(/empty path/);
    expect(() => new FileContexts({ specs: new Array(100_001) })).toThrow(/more than 100000 specs/);
    // Lines are counted before anything else is kept: a million and one comment lines.
    expect(() => parseFileContexts(enc('#\n'.repeat(1_000_001)), 'lines')).toThrow(/lines: more than 1000000 lines/);
  });

  describe('policy trees', () => {
    const host = createNodeHost();
    const tree = (name: string, config: string | null): string => {
      const root = join(dir, name);
      mkdirSync(join(root, 'etc/selinux/t/contexts/files'), { recursive: true });
      if (config !== null) writeFileSync(join(root, 'etc/selinux/config'), config);
      writeFileSync(join(root, 'etc/selinux/t/contexts/files/file_contexts'), `/.* ${CTX}\n/ system_u:object_r:root_t:s0\n`);
      return root;
    };

    it('loads a policy only when SELINUX= is enforcing or permissive', async () => {
      expect((await loadPolicyFromDirectory(host.fs, tree('enf', 'SELINUX=Enforcing\nSELINUXTYPE= t \n')))?.name).toBe('t');
      expect(await loadPolicyFromDirectory(host.fs, tree('dis', 'SELINUX=disabled\nSELINUXTYPE=t\n'))).toBeNull();
      expect(await loadPolicyFromDirectory(host.fs, tree('none', null))).toBeNull();
    });

    it('refuses a SELINUXTYPE that leaves etc/selinux, and a missing file_contexts', async () => {
      await expect(loadPolicyFromDirectory(host.fs, tree('dotdot', 'SELINUX=enforcing\nSELINUXTYPE=../../..\n'))).rejects.toThrow(/invalid or missing SELINUXTYPE/);
      await expect(loadPolicyFromDirectory(host.fs, tree('slash', 'SELINUX=enforcing\nSELINUXTYPE=a/b\n'))).rejects.toThrow(/invalid or missing SELINUXTYPE/);
      await expect(loadPolicyFromDirectory(host.fs, tree('notype', 'SELINUX=enforcing\n'))).rejects.toThrow(/invalid or missing SELINUXTYPE/);
      await expect(loadPolicyFromDirectory(host.fs, tree('other', 'SELINUX=enforcing\nSELINUXTYPE=missing\n'))).rejects.toThrow(/file_contexts: No such file/);
    });

    it('follows symlinks inside the tree only: an absolute link resolves under the tree root', async () => {
      const root = tree('links', null);
      // config -> /etc/selinux/config: inside the tree that is the tree's own file, never the host's.
      mkdirSync(join(root, 'usr/share'), { recursive: true });
      writeFileSync(join(root, 'usr/share/selinux-config'), 'SELINUX=permissive\nSELINUXTYPE=t\n');
      symlinkSync('/usr/share/selinux-config', join(root, 'etc/selinux/config'));
      expect((await loadPolicyFromDirectory(host.fs, root))?.name).toBe('t');
      const escape = tree('escape', null);
      symlinkSync('../../../../../../../../etc/shadow', join(escape, 'etc/selinux/config'));
      expect(await loadPolicyFromDirectory(host.fs, escape)).toBeNull();
      const loop = tree('loop', 'SELINUX=enforcing\nSELINUXTYPE=t\n');
      rmSync(join(loop, 'etc/selinux/t/contexts/files/file_contexts'));
      symlinkSync('file_contexts', join(loop, 'etc/selinux/t/contexts/files/file_contexts'));
      await expect(loadPolicyFromDirectory(host.fs, loop)).rejects.toThrow(/too many levels of symbolic links/);
    });

    it('refuses a policy that does not label /', async () => {
      const root = tree('noroot', 'SELINUX=enforcing\nSELINUXTYPE=t\n');
      writeFileSync(join(root, 'etc/selinux/t/contexts/files/file_contexts'), `/usr(/.*)? ${CTX}\n/ <<none>>\n`);
      await expect(loadPolicyFromDirectory(host.fs, root)).rejects.toThrow(/Failed to look up context of \//);
    });
  });
});
