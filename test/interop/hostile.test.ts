// Hostile repositories: truncated and bit-flipped objects, dirtrees naming `..`, `a/b` or the
// same name twice, a non-normal GVariant commit, a symlink that a later entry would write
// through, and upstream's ostree-path-traverse fixture. Each must give a non-zero exit with an
// error naming the bad object (or name), and nothing may be written outside the target.
// Objects are crafted with xylem's own GVariant encoder and written as loose files; `ostree` is
// asked too, as a reference for what libostree makes of the same repository.

import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encode } from '../../src/format/gvariant.ts';
import { encodeCommit, encodeDirMeta } from '../../src/format/objects.ts';
import { TempDir, buildCli, describeInterop, disposeCli, initRepo, ostree, run, sh, xylem, type Mode, type RunResult } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';

const PATH_TRAVERSE_FIXTURE = '/usr/libexec/installed-tests/libostree/ostree-path-traverse.tar.gz';

const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

/** Writes a metadata object (its checksum is the sha256 of its bytes) as a loose object. */
function writeMetadataObject(repo: string, ext: 'commit' | 'dirtree' | 'dirmeta', data: Uint8Array): string {
  const csum = sha256hex(data);
  mkdirSync(join(repo, 'objects', csum.slice(0, 2)), { recursive: true });
  writeFileSync(join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`), data);
  return csum;
}

function setRef(repo: string, ref: string, csum: string): void {
  writeFileSync(join(repo, 'refs', 'heads', ref), `${csum}\n`);
}

function objectPath(repo: string, csum: string, ext: string): string {
  return join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`);
}

/** A raw dirtree: files [name, content csum], dirs [name, tree csum, meta csum]; order as given. */
function rawDirTree(files: Array<[string, string]>, dirs: Array<[string, string, string]>): Uint8Array {
  return encode('(a(say)a(sayay))', [files.map(([n, c]) => [n, hexBytes(c)]), dirs.map(([n, t, m]) => [n, hexBytes(t), hexBytes(m)])]);
}

function rawCommit(rootTree: string, rootMeta: string, subject = 'hostile'): Uint8Array {
  return encodeCommit({ metadata: [], parent: null, related: [], subject, body: '', timestamp: 1_600_000_000n, rootTree, rootMeta });
}

/** Every path under `dir` (relative), for "nothing was written" checks. */
function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of readdirSync(join(dir, rel))) {
      const r = rel ? `${rel}/${n}` : n;
      out.push(r);
      if (lstatSync(join(dir, r)).isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort();
}

function expectFailure(r: RunResult, ...mustMention: string[]): void {
  expect(r.status, `expected failure, got exit 0; stdout:\n${r.stdout}`).not.toBe(0);
  expect(r.stderr).toMatch(/error/i);
  for (const m of mustMention) expect(r.stderr, `stderr should mention ${m}`).toContain(m);
  // A clean error, not a crash with a JS stack.
  expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
}

describeInterop('hostile repositories', () => {
  vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
  let tmp: TempDir;
  let tree: string;

  beforeAll(() => {
    buildCli();
    tmp = new TempDir();
    tree = tmp.join('tree');
    mkdirSync(`${tree}/dir`, { recursive: true });
    writeFileSync(`${tree}/file`, 'some file content that compresses: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n');
    writeFileSync(`${tree}/dir/inner`, 'inner\n');
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  let n = 0;
  let work: string;
  let outside: string;
  beforeEach(() => {
    work = tmp.join(`case-${n++}`);
    mkdirSync(work);
    outside = join(work, 'outside');
    mkdirSync(outside);
  });
  afterEach(() => {
    // Whatever happened, nothing may have been written outside the checkout target.
    expect(listTree(outside)).toEqual([]);
  });

  /** Pristine repos, made once per mode and copied for each test (spawning the CLI is slow). */
  const templates = new Map<Mode, { repo: string; commit: string; ids: Record<string, string> }>();

  /** A xylem repo of the given mode with `main` = a commit of the small tree. */
  function goodRepo(mode: Mode = 'archive'): { repo: string; commit: string; ids: Record<string, string> } {
    let t = templates.get(mode);
    if (!t) {
      t = makeRepo(initRepo('xylem', tmp.join(`template-${mode}`), mode));
      templates.set(mode, t);
    }
    const repo = join(work, 'repo');
    sh('cp', ['-a', t.repo, repo]); // -a: bare-user objects carry their metadata in xattrs
    return { ...t, repo };
  }

  function makeRepo(repo: string): { repo: string; commit: string; ids: Record<string, string> } {
    const commit = run('xylem', [`--repo=${repo}`, 'commit', '-b', 'main', '--timestamp=2020-01-01T00:00:00Z', tree]);
    const ls = run('xylem', [`--repo=${repo}`, 'ls', '-R', '-C', 'main']).split('\n');
    const ids: Record<string, string> = {};
    for (const l of ls) {
      const parts = l.trim().split(/\s+/);
      const path = parts[parts.length - 1]!;
      if (l.startsWith('d')) {
        ids[`${path}:tree`] = parts[4]!;
        ids[`${path}:meta`] = parts[5]!;
      } else ids[path] = parts[4]!;
    }
    return { repo, commit, ids };
  }

  describe('damaged objects', () => {
    const cases: Array<{ name: string; ext: string; target: (ids: Record<string, string>, commit: string) => string; damage: 'truncate' | 'flip' }> = [
      { name: 'a truncated .filez', ext: 'filez', target: (ids) => ids['/file']!, damage: 'truncate' },
      { name: 'a truncated .dirtree', ext: 'dirtree', target: (ids) => ids['/:tree']!, damage: 'truncate' },
      { name: 'a truncated .commit', ext: 'commit', target: (_ids, c) => c, damage: 'truncate' },
      { name: 'a flipped byte in a .filez', ext: 'filez', target: (ids) => ids['/file']!, damage: 'flip' },
      { name: 'a flipped byte in a .dirtree', ext: 'dirtree', target: (ids) => ids['/:tree']!, damage: 'flip' },
      { name: 'a flipped byte in a .commit', ext: 'commit', target: (_ids, c) => c, damage: 'flip' },
    ];
    /** Damages the object of case `c` in a fresh archive repo; returns the repo and the object. */
    function damaged(c: (typeof cases)[number]): { repo: string; csum: string } {
      const { repo, commit, ids } = goodRepo('archive');
      const csum = c.target(ids, commit);
      const p = objectPath(repo, csum, c.ext);
      const size = statSync(p).size;
      if (c.damage === 'truncate') truncateSync(p, Math.floor(size / 2));
      else {
        const b = readFileSync(p);
        // Flip a byte in the last eighth: inside the compressed body of a .filez, inside the
        // checksums at the end of a dirtree/commit.
        const at = size - 1 - Math.floor(size / 8);
        b[at] = b[at]! ^ 0x20;
        writeFileSync(p, b);
      }
      return { repo, csum };
    }

    for (const c of cases) {
      it(`${c.name}: checkout fails naming the object`, () => {
        const { repo, csum } = damaged(c);
        const co = xylem([`--repo=${repo}`, 'checkout', 'main', join(work, 'co')]);
        if (c.ext === 'filez' && c.damage === 'flip') {
          // Like libostree, checkout does not re-hash content (fsck does); a damaged stream may
          // still inflate to the right length. If it does fail, it must name the object.
          if (co.status !== 0) expectFailure(co, csum);
        } else expectFailure(co, csum);
      });
      it(`${c.name}: fsck fails naming the object, as ostree fsck`, () => {
        const { repo, csum } = damaged(c);
        const o = ostree([`--repo=${repo}`, 'fsck']);
        expect(o.status).not.toBe(0);
        expect(o.stderr).toContain(csum);
        const x = xylem([`--repo=${repo}`, 'fsck']);
        expectFailure(x, csum);
        // Type and checksum together, and what is wrong (never GLib's bare "length 0" message).
        expect(x.stderr).not.toMatch(/^error: Invalid checksum of length 0 expected 32$/m);
        if (c.ext === 'filez') expect(x.stderr).toContain(`fsck content object ${csum}: `);
        else if (c.damage === 'truncate') expect(x.stderr).toContain(`${csum}.${c.ext}: Corrupted ${c.ext} object; checksum expected='${csum}'`);
      });
    }

    it('a truncated .file in a bare-user repo: cat and checkout fail naming the object', () => {
      const { repo, ids } = goodRepo('bare-user');
      truncateSync(objectPath(repo, ids['/file']!, 'file'), 5);
      expectFailure(xylem([`--repo=${repo}`, 'fsck']), ids['/file']!);
    });
  });

  describe('crafted dirtrees', () => {
    const ABS = `/xylem-hostile-abs-${process.pid}`;
    for (const bad of ['..', '.', 'a/b', '', ABS]) {
      it(`a dirtree naming ${JSON.stringify(bad)} (as a file and as a directory) is refused`, () => {
        const { repo, ids } = goodRepo('archive');
        const meta = ids['/:meta']!;
        for (const asDir of [false, true]) {
          const dt = asDir ? rawDirTree([], [[bad, ids['/dir:tree']!, meta]]) : rawDirTree([[bad, ids['/file']!]], []);
          const treeCsum = writeMetadataObject(repo, 'dirtree', dt);
          setRef(repo, 'evil', writeMetadataObject(repo, 'commit', rawCommit(treeCsum, meta)));
          const dest = join(work, `co-${asDir}`);
          const r = xylem([`--repo=${repo}`, 'checkout', 'evil', dest]);
          expectFailure(r);
          expect(r.stderr).toMatch(new RegExp(`${treeCsum}|Invalid|filename`));
          expect(ostree([`--repo=${repo}`, 'checkout', 'evil', join(work, `oco-${asDir}`)]).status).not.toBe(0);
          // Nothing escaped: no a/ in the target, no absolute path, nothing new next to the target.
          expect(existsSync(join(dest, 'a'))).toBe(false);
          expect(existsSync(ABS)).toBe(false);
          expect(readdirSync(work).filter((e) => !/^(repo|outside|co-|oco-)/.test(e))).toEqual([]);
          expect(readdirSync(join(work, 'repo')).filter((e) => e !== '.lock').sort()).toEqual(['config', 'extensions', 'objects', 'refs', 'state', 'tmp']); // (.lock: the repo lock, as ostree's)
        }
      });
    }

    it('duplicate names (a file and a directory both called x, or a file twice) are refused', () => {
      const { repo, ids } = goodRepo('archive');
      const meta = ids['/:meta']!;
      const variants = [
        rawDirTree([['x', ids['/file']!]], [['x', ids['/dir:tree']!, meta]]),
        rawDirTree(
          [
            ['x', ids['/file']!],
            ['x', ids['/dir/inner']!],
          ],
          [],
        ),
      ];
      variants.forEach((dt, i) => {
        const treeCsum = writeMetadataObject(repo, 'dirtree', dt);
        setRef(repo, `dup${i}`, writeMetadataObject(repo, 'commit', rawCommit(treeCsum, meta)));
        expectFailure(xylem([`--repo=${repo}`, 'checkout', `dup${i}`, join(work, `co${i}`)]), treeCsum);
      });
    });

    it('a symlink evil -> OUTSIDE next to a directory evil/ is refused; nothing lands outside', () => {
      const { repo, ids } = goodRepo('archive');
      const meta = ids['/:meta']!;
      // A symlink object pointing outside the target: commit it from a real tree.
      const src = join(work, 'symsrc');
      mkdirSync(src);
      sh('ln', ['-s', outside, join(src, 'evil')]);
      run('xylem', [`--repo=${repo}`, 'commit', '-b', 'sym', '--timestamp=2020-01-01T00:00:00Z', src]);
      const symCsum = run('xylem', [`--repo=${repo}`, 'ls', '-C', 'sym', '/evil']).split(/\s+/)[4]!;
      // dir evil/ holds the file `pwned`.
      const pwnedTree = writeMetadataObject(repo, 'dirtree', rawDirTree([['pwned', ids['/file']!]], []));
      const dt = writeMetadataObject(repo, 'dirtree', rawDirTree([['evil', symCsum]], [['evil', pwnedTree, meta]]));
      setRef(repo, 'evil', writeMetadataObject(repo, 'commit', rawCommit(dt, meta)));
      expectFailure(xylem([`--repo=${repo}`, 'checkout', 'evil', join(work, 'co')]), dt);
    });

    // Deliberately stricter than libostree: `ostree checkout --union` (2022.7) follows the symlink
    // and writes evil/pwned into OUTSIDE.
    it('--union of a tree with dir evil/pwned over a checkout holding symlink evil -> OUTSIDE writes nothing outside', () => {
      const { repo, ids } = goodRepo('archive');
      const meta = ids['/:meta']!;
      const src = join(work, 'symsrc');
      mkdirSync(src);
      sh('ln', ['-s', outside, join(src, 'evil')]);
      run('xylem', [`--repo=${repo}`, 'commit', '-b', 'sym', '--timestamp=2020-01-01T00:00:00Z', src]);
      const pwnedTree = writeMetadataObject(repo, 'dirtree', rawDirTree([['pwned', ids['/file']!]], []));
      const dt = writeMetadataObject(repo, 'dirtree', rawDirTree([], [['evil', pwnedTree, meta]]));
      setRef(repo, 'evil', writeMetadataObject(repo, 'commit', rawCommit(dt, meta)));
      const dest = join(work, 'co');
      run('xylem', [`--repo=${repo}`, 'checkout', 'sym', dest]);
      for (const flag of ['--union', '--union-add']) {
        const r = xylem([`--repo=${repo}`, 'checkout', flag, 'evil', dest]);
        expect(r.status, `${flag} must refuse to descend into a symlink`).not.toBe(0);
        expect(r.stderr).toContain('evil');
      }
    });
  });

  it('a non-normal-form GVariant commit is refused with an error naming it', () => {
    const { repo, ids } = goodRepo('archive');
    // A boolean stored as 0x02 is not in normal form (GLib would read it as true).
    const good = encodeCommit({
      metadata: [['flag', { type: 'b', value: true }]],
      parent: null,
      related: [],
      subject: 'nonnormal',
      body: '',
      timestamp: 1_600_000_000n,
      rootTree: ids['/:tree']!,
      rootMeta: ids['/:meta']!,
    });
    const bad = Uint8Array.from(good);
    const at = Buffer.from(bad).indexOf(Buffer.from('flag\0', 'latin1')) + 5;
    const boolAt = bad.indexOf(1, at);
    expect(boolAt).toBeGreaterThan(0);
    bad[boolAt] = 2;
    const csum = writeMetadataObject(repo, 'commit', bad);
    setRef(repo, 'nonnormal', csum);
    for (const args of [['show', 'nonnormal'], ['checkout', 'nonnormal', join(work, 'co')], ['ls', 'nonnormal']]) {
      expectFailure(xylem([`--repo=${repo}`, ...args]), csum);
    }
  });

  it('a non-normal dirtree with a matching checksum: fsck, prune, ls and checkout name it and say what is wrong', () => {
    const { repo, ids } = goodRepo('archive');
    const good = rawDirTree([['file', ids['/file']!]], [['dir', ids['/dir:tree']!, ids['/dir:meta']!]]);
    // One byte more: the framing offsets no longer describe the bytes (not normal form).
    const bad = new Uint8Array(good.length + 1);
    bad.set(good);
    bad[good.length] = 0x01;
    const dt = writeMetadataObject(repo, 'dirtree', bad);
    setRef(repo, 'nonnormal', writeMetadataObject(repo, 'commit', rawCommit(dt, ids['/:meta']!)));
    expect(ostree([`--repo=${repo}`, 'fsck']).status).not.toBe(0);
    for (const args of [['fsck'], ['prune', '--refs-only', '--no-prune'], ['ls', '-R', 'nonnormal'], ['checkout', 'nonnormal', join(work, 'co')]]) {
      const r = xylem([`--repo=${repo}`, ...args]);
      expectFailure(r, `${dt}.dirtree`);
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`(Corrupted dirtree object ${dt}\\.dirtree|${dt}\\.dirtree: Corrupted dirtree object): .*(normal form|GVariant)`, 'i'));
      expect(r.stderr, args.join(' ')).not.toMatch(/^error: Invalid checksum of length 0 expected 32$/m);
    }
  });

  it('a dirmeta with a non-directory mode is refused', () => {
    const { repo, ids } = goodRepo('archive');
    const meta = writeMetadataObject(repo, 'dirmeta', encodeDirMeta({ uid: 0, gid: 0, mode: 0o100644, xattrs: [] }));
    const dt = writeMetadataObject(repo, 'dirtree', rawDirTree([], [['d', ids['/dir:tree']!, meta]]));
    setRef(repo, 'badmeta', writeMetadataObject(repo, 'commit', rawCommit(dt, ids['/:meta']!)));
    expectFailure(xylem([`--repo=${repo}`, 'checkout', 'badmeta', join(work, 'co')]), meta);
  });

  describe('cycles (pull-local)', () => {
    // A content-addressed tree cannot contain itself: these repos store a dirtree (or commit)
    // under a name that is not its checksum. ostree's trusted pull-local copies them without
    // looking; ostree --untrusted refuses the checksum. xylem refuses both ways, sets no ref.
    /** Stores `data` under the name `csum` (not its checksum). */
    function forge(repo: string, ext: 'dirtree' | 'commit', csum: string, data: Uint8Array): void {
      mkdirSync(join(repo, 'objects', csum.slice(0, 2)), { recursive: true });
      writeFileSync(objectPath(repo, csum, ext), data);
    }
    const fake = (s: string): string => sha256hex(new TextEncoder().encode(s));
    function pullLocalBoth(repo: string, ref: string, extra: string[] = []): { x: RunResult; o: RunResult; xdst: string; odst: string } {
      const xdst = initRepo('xylem', join(work, `x-dst${extra.join('')}`), 'bare-user');
      const odst = initRepo('ostree', join(work, `o-dst${extra.join('')}`), 'bare-user');
      const x = xylem([`--repo=${xdst}`, 'pull-local', ...extra, repo, ref]);
      const o = ostree([`--repo=${odst}`, 'pull-local', ...extra, repo, ref]);
      return { x, o, xdst, odst };
    }

    it('a dirtree listing itself as a subdirectory: trusted and --untrusted pull-local fail naming it, no ref', () => {
      const { repo, ids } = goodRepo('archive');
      const self = fake('self');
      forge(repo, 'dirtree', self, rawDirTree([], [['loop', self, ids['/:meta']!]]));
      setRef(repo, 'loop', writeMetadataObject(repo, 'commit', rawCommit(self, ids['/:meta']!)));
      const trusted = pullLocalBoth(repo, 'loop');
      expectFailure(trusted.x, `${self}.dirtree`, 'cycle');
      expect(existsSync(join(trusted.xdst, 'refs', 'heads', 'loop'))).toBe(false);
      // --untrusted: the checksum is wrong, which both refuse first.
      const untrusted = pullLocalBoth(repo, 'loop', ['--untrusted']);
      expect(untrusted.o.status).not.toBe(0);
      expect(untrusted.o.stderr).toContain(`Corrupted dirtree object; checksum expected='${self}'`);
      expectFailure(untrusted.x, `Corrupted dirtree object; checksum expected='${self}'`);
      expect(existsSync(join(untrusted.xdst, 'refs', 'heads', 'loop'))).toBe(false);
    });

    it('two dirtrees listing each other (reached from one root by both names) are refused, no ref', () => {
      const { repo, ids } = goodRepo('archive');
      const meta = ids['/:meta']!;
      const a = fake('a');
      const b = fake('b');
      forge(repo, 'dirtree', a, rawDirTree([], [['b', b, meta]]));
      forge(repo, 'dirtree', b, rawDirTree([], [['a', a, meta]]));
      const root = writeMetadataObject(repo, 'dirtree', rawDirTree([], [['a', a, meta], ['b', b, meta]]));
      setRef(repo, 'pair', writeMetadataObject(repo, 'commit', rawCommit(root, meta)));
      const dst = initRepo('xylem', join(work, 'dst'), 'bare-user');
      const r = xylem([`--repo=${dst}`, 'pull-local', repo, 'pair']);
      expectFailure(r, 'cycle');
      expect(r.stderr).toMatch(new RegExp(`(${a}|${b})\\.dirtree`));
      expect(existsSync(join(dst, 'refs', 'heads', 'pair'))).toBe(false);
    });

    it('a commit that is its own parent is refused by pull-local --depth=-1, no ref', () => {
      const { repo, ids } = goodRepo('archive');
      const c = fake('commit');
      forge(repo, 'commit', c, encodeCommit({ metadata: [], parent: c, related: [], subject: 'loop', body: '', timestamp: 1_600_000_000n, rootTree: ids['/:tree']!, rootMeta: ids['/:meta']! }));
      setRef(repo, 'selfparent', c);
      const dst = initRepo('xylem', join(work, 'dst'), 'bare-user');
      const r = xylem([`--repo=${dst}`, 'pull-local', '--depth=-1', repo, 'selfparent']);
      expectFailure(r, `${c}.commit`, 'cycle');
      expect(existsSync(join(dst, 'refs', 'heads', 'selfparent'))).toBe(false);
    });
  });

  it.skipIf(missing('upstream path-traverse fixture', { [PATH_TRAVERSE_FIXTURE]: existsSync(PATH_TRAVERSE_FIXTURE) }))("upstream ostree-path-traverse fixture: fsck, checkout and pull-local refuse '../afile'", () => {
    sh('tar', ['xzf', PATH_TRAVERSE_FIXTURE, '-C', work]);
    const repo = join(work, 'ostree-path-traverse', 'repo');
    expectFailure(xylem([`--repo=${repo}`, 'fsck', '-q']), '../afile');
    expectFailure(xylem([`--repo=${repo}`, 'checkout', 'pathtraverse-test', join(work, 'co')]), '../afile');
    const dst = initRepo('xylem', join(work, 'dst'), 'archive');
    expectFailure(xylem([`--repo=${dst}`, 'pull-local', repo, 'pathtraverse-test']), '../afile');
    expect(existsSync(join(work, 'afile'))).toBe(false);
    // The oracle says the same.
    expect(ostree([`--repo=${repo}`, 'fsck', '-q']).stderr).toContain('Invalid / in filename ../afile');
  });
});
