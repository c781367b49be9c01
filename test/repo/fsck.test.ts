// fsck vs the real ostree: the same corruption applied to twin copies of an ostree-made repo must
// give the same stdout, stderr, exit status and resulting repository (deleted objects, partial
// markers, tombstones), in archive, bare-user and bare modes.

import { existsSync, lstatSync, readFileSync, readdirSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { requireInTest } from '../helpers/require-tool.ts';
import { TempDir, buildCli, describeInterop, disposeCli, ostree, run, sh, xylem, type Mode, type Tool } from '../helpers/interop.ts';

type Mutation = (repo: string) => void;

function objects(repo: string, ext: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(repo, 'objects')).sort())
    for (const f of readdirSync(join(repo, 'objects', d)).sort()) if (f.endsWith(`.${ext}`)) out.push(`objects/${d}/${f}`);
  return out;
}

/** Every file of a repo with its size and a digest of its content (the repo's observable state). */
function snapshot(repo: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!p.includes('/tmp/') && e.name !== '.lock') out.push(`${relative(repo, p)} ${e.isFile() ? readFileSync(p).toString('base64').slice(0, 40) : 'link'}`);
    }
  };
  walk(repo);
  return out;
}

function flipByte(path: string, offsetFromEnd = 1): void {
  const b = readFileSync(path);
  b[offsetFromEnd === 0 ? b.length >> 1 : b.length - offsetFromEnd] ^= 0x55;
  writeFileSync(path, b);
}

let tmp: TempDir;
const sources = new Map<Mode, string>();
const csumOf = (p: string): string => p.replace(/^objects\/(..)\/(.{62}).*$/, '$1$2');

beforeAll(() => {
  buildCli();
  tmp = new TempDir('xylem-fsck-');
  const tree = tmp.join('tree');
  sh('mkdir', ['-p', join(tree, 'sub/deeper'), join(tree, 'empty')]);
  writeFileSync(join(tree, 'a'), 'hello\n');
  writeFileSync(join(tree, 'sub/b'), 'world\n'.repeat(1000));
  writeFileSync(join(tree, 'sub/deeper/c'), Buffer.alloc(70000, 7));
  sh('ln', ['-s', 'a', join(tree, 'link')]);
  for (const mode of ['archive', 'bare-user', 'bare'] as Mode[]) {
    const repo = tmp.join(`src-${mode}`);
    run('ostree', [`--repo=${repo}`, 'init', `--mode=${mode}`]);
    run('ostree', [`--repo=${repo}`, 'commit', '-b', 'main', '-s', 'one', `--tree=dir=${tree}`]);
    writeFileSync(join(tree, 'a'), 'hello again\n');
    run('ostree', [`--repo=${repo}`, 'commit', '-b', 'main', '-s', 'two', `--tree=dir=${tree}`]);
    run('ostree', [`--repo=${repo}`, 'commit', '-b', 'other', '-s', 'other', `--tree=dir=${join(tree, 'sub')}`]);
    writeFileSync(join(tree, 'a'), 'hello\n');
    sources.set(mode, repo);
  }
}, 120_000);

afterAll(() => {
  tmp?.cleanup();
  disposeCli();
});

/**
 * Applies `mutate` to twin copies, runs fsck ARGS with both tools and compares everything.
 * `stderrDiffers`: where xylem deliberately says more than ostree (when ostree's stderr is
 * `ostree`, xylem's must match the pattern instead of being equal to it).
 */
function compare(
  mode: Mode,
  mutate: Mutation,
  args: string[],
  stderrDiffers?: { ostree: string; xylem: (repo: string) => RegExp },
): { status: number; stderr: string; repo: string } {
  const results = (['ostree', 'xylem'] as Tool[]).map((t) => {
    const repo = tmp.join(`${t}-${mode}`);
    rmSync(repo, { recursive: true, force: true });
    sh('cp', ['-a', sources.get(mode)!, repo]); // keeps the xattrs bare-user objects need
    mutate(repo);
    const r = (t === 'ostree' ? ostree : xylem)([`--repo=${repo}`, 'fsck', ...args]);
    // ostree lists "In commits A, B, C" in GHashTable order, which xylem does not reproduce:
    // compare that list as a set (sorted), everything else byte for byte.
    const norm = (s: string): string =>
      s
        .split(repo)
        .join('REPO')
        .replace(/In commits ([0-9a-f]{64}(?:, [0-9a-f]{64})*):/g, (_m, list: string) => `In commits ${list.split(', ').sort().join(', ')}:`);
    return { status: r.status, stdout: norm(r.stdout), stderr: norm(r.stderr), state: snapshot(repo), repo };
  });
  const [o, x] = results as [(typeof results)[0], (typeof results)[0]];
  if (stderrDiffers && o.stderr === stderrDiffers.ostree) {
    expect(x.stderr).toMatch(stderrDiffers.xylem(x.repo));
    o.stderr = x.stderr;
  }
  expect({ status: x.status, stdout: x.stdout, stderr: x.stderr }).toEqual({ status: o.status, stdout: o.stdout, stderr: o.stderr });
  expect(x.state).toEqual(o.state);
  return { status: x.status, stderr: x.stderr, repo: x.repo };
}

const fileExt = (mode: Mode): string => (mode === 'archive' ? 'filez' : 'file');
/** A regular-file content object of the tree (largest, so bare modes have data to flip). */
function bigFile(repo: string, mode: Mode): string {
  return objects(repo, fileExt(mode)).sort((a, b) => lstatSync(join(repo, b)).size - lstatSync(join(repo, a)).size)[0]!;
}

describeInterop('fsck vs ostree', () => {
  vi.setConfig({ testTimeout: 120_000 });
  for (const mode of ['archive', 'bare-user', 'bare'] as Mode[]) {
    it(`${mode}: clean repo`, () => {
      expect(compare(mode, () => undefined, []).status).toBe(0);
      compare(mode, () => undefined, ['-q']);
    });

    it(`${mode}: flipped byte in a file object is found, named, and deleted with --delete`, () => {
      let target = '';
      const mutate: Mutation = (repo) => {
        target = bigFile(repo, mode);
        flipByte(join(repo, target), 1);
      };
      const r = compare(mode, mutate, []);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(csumOf(target));
      compare(mode, mutate, ['-a']);
      const d = compare(mode, mutate, ['--delete']);
      expect(d.stderr).toMatch(/^In commits /m);
      expect(existsSync(join(d.repo, target))).toBe(false);
      expect(readdirSync(join(d.repo, 'state')).some((f) => f.endsWith('.commitpartial'))).toBe(true);
    });

    it(`${mode}: truncated and deleted objects`, () => {
      compare(mode, (repo) => truncateSync(join(repo, bigFile(repo, mode)), 20), []);
      compare(mode, (repo) => truncateSync(join(repo, bigFile(repo, mode)), 20), ['--delete']);
      const del = compare(mode, (repo) => unlinkSync(join(repo, bigFile(repo, mode))), []);
      expect(del.stderr).toMatch(/Object missing in commits .*: [0-9a-f]{64}\.file/);
      expect(del.stderr).toContain('Marking commit as partial: ');
      compare(mode, (repo) => unlinkSync(join(repo, objects(repo, 'dirmeta')[0]!)), ['-q']);
    });

    it(`${mode}: corrupt metadata objects`, () => {
      // Which commit is emptied varies from run to run (the commits' checksums do); when ostree's
      // walk cannot read it, ostree says only GLib's "Invalid checksum of length 0 expected 32",
      // and xylem names the commit and what is wrong with it.
      let emptied = '';
      compare(
        mode,
        (repo) => {
          emptied = objects(repo, 'commit')[0]!;
          writeFileSync(join(repo, emptied), '');
        },
        ['-q'],
        {
          ostree: 'error: Invalid checksum of length 0 expected 32\n',
          xylem: () => new RegExp(`^error: ${csumOf(emptied)}\\.commit: Corrupted commit object; checksum expected='${csumOf(emptied)}' actual='e3b0c442[0-9a-f]{56}' \\(0 bytes\\)\n$`),
        },
      );
      let flipped = '';
      const flipDirtree = (repo: string) => {
        flipped = objects(repo, 'dirtree')[0]!;
        flipByte(join(repo, flipped), 3);
      };
      const namesDirtree = {
        ostree: 'error: Invalid checksum of length 0 expected 32\n',
        xylem: () => new RegExp(`^error: ${csumOf(flipped)}\\.dirtree: Corrupted dirtree object; checksum expected='${csumOf(flipped)}' actual='[0-9a-f]{64}' \\(\\d+ bytes\\)\n$`),
      };
      compare(mode, flipDirtree, [], namesDirtree);
      compare(mode, flipDirtree, ['--delete'], namesDirtree);
      compare(mode, (repo) => flipByte(join(repo, objects(repo, 'dirmeta')[0]!), 1), ['--all']);
      const head = (repo: string): string => readFileSync(join(repo, 'refs/heads/main'), 'utf8').trim();
      const r = compare(mode, (repo) => rmSync(join(repo, 'objects', head(repo).slice(0, 2), `${head(repo).slice(2)}.commit`)), []);
      expect(r.stderr).toMatch(/No such metadata object/);
    });

    it(`${mode}: a fsck after --delete still fails until the objects return`, () => {
      compare(mode, (repo) => {
        const target = bigFile(repo, mode);
        flipByte(join(repo, target), 1);
        ostree([`--repo=${repo}`, 'fsck', '--delete']);
      }, []);
    });
  }

  it('--add-tombstones after a shallow prune', () => {
    const r = compare('archive', (repo) => run('ostree', [`--repo=${repo}`, 'prune', '--refs-only', '--depth=0']), ['--add-tombstones']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.repo, 'config'), 'utf8')).toContain('tombstone-commits=true');
  });

  it('path traversal dirtree from the upstream fixture', (ctx) => {
    const fixture = '/usr/libexec/installed-tests/libostree/ostree-path-traverse.tar.gz';
    requireInTest((n) => ctx.skip(n), 'fsck path-traversal fixture', { [`${fixture} (ostree-tests)`]: existsSync(fixture) });
    sh('tar', ['xf', fixture, '-C', tmp.path]);
    sources.set('bare-user-only', join(tmp.path, 'ostree-path-traverse/repo'));
    const r = compare('bare-user-only', () => undefined, ['-q']);
    expect(r.stderr).toContain('.dirtree: Invalid / in filename ../afile');
    compare('bare-user-only', () => undefined, ['-a']);
  });
});
