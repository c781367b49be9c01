// summary vs the real ostree: the bytes xylem builds equal those `ostree summary -u` writes for the
// same repo (same last-modified time, with extra metadata, versions, static deltas, tombstones),
// and `summary --view` / `--raw` print exactly what ostree prints, for either tool's file.

import { readFileSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ostree, run, xylem } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { buildSummary, regenerateSummary, maybeUpdateSummary } from '../../src/maintenance/summary.ts';
import { SUMMARY_TYPE } from '../../src/format/objects.ts';
import { decode, parseText, type GVVariant } from '../../src/format/gvariant.ts';
import { bswap64 } from '../../src/util/bytes.ts';

let tmp: TempDir;

beforeAll(() => buildCli(), 120_000);
afterAll(() => {
  tmp?.cleanup();
  disposeCli();
});

function makeRepo(name: string): { repo: string; tree: string } {
  tmp ??= new TempDir('xylem-summary-');
  const repo = tmp.join(name);
  const tree = tmp.join(`${name}-tree`);
  mkdirSync(join(tree, 'd'), { recursive: true });
  writeFileSync(join(tree, 'f'), 'one\n');
  run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
  run('ostree', [`--repo=${repo}`, 'commit', '-b', 'main', '--add-metadata-string=version=3.2', `--tree=dir=${tree}`]);
  writeFileSync(join(tree, 'f'), 'two\n');
  run('ostree', [`--repo=${repo}`, 'commit', '-b', 'main', '--add-metadata-string=version=3.3', `--tree=dir=${tree}`]);
  run('ostree', [`--repo=${repo}`, 'commit', '-b', 'other', '-s', 'x', `--tree=dir=${join(tree, 'd')}`]);
  run('ostree', [`--repo=${repo}`, 'commit', '-b', 'a/nested/ref', '-s', 'y', `--tree=dir=${tree}`]);
  return { repo, tree };
}

/** Has ostree write the summary, then builds ours for the same instant and compares bytes. */
async function sameBytes(repo: string, metadata: string[]): Promise<void> {
  run('ostree', [`--repo=${repo}`, 'summary', '-u', ...metadata.map((m) => `--add-metadata=${m}`)]);
  const theirs = new Uint8Array(readFileSync(join(repo, 'summary')));
  const [, meta] = decode(SUMMARY_TYPE, theirs) as [unknown, Array<[string, GVVariant]>];
  const lm = meta.find(([k]) => k === 'ostree.summary.last-modified')![1].value as bigint;
  const r = await Repo.open(createNodeHost(), repo);
  const additionalMetadata = metadata.map((m) => [m.slice(0, m.indexOf('=')), parseText(m.slice(m.indexOf('=') + 1))] as [string, GVVariant]);
  const ours = await buildSummary(r, { now: bswap64(lm), additionalMetadata });
  expect(Buffer.from(ours).toString('hex')).toBe(Buffer.from(theirs).toString('hex'));
}

describeInterop('summary vs ostree', () => {
  vi.setConfig({ testTimeout: 120_000 });

  it('bytes equal for plain refs, versions and extra metadata', async () => {
    const { repo } = makeRepo('plain');
    await sameBytes(repo, []);
    await sameBytes(repo, ["key='value'", 'key2=true', 'some-int=@t 123', 'map=@a{sv} {}']);
    await sameBytes(repo, ['a=1', 'b=2', 'c=3', 'd=4', 'e=5', 'f=6', 'g=7', 'h=8', 'a=9', "x=<'y'>"]);
  });

  it('bytes equal with static deltas and tombstone-commits', async () => {
    const { repo } = makeRepo('deltas');
    run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', 'main']);
    run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', '--empty', 'other']);
    run('ostree', [`--repo=${repo}`, 'config', 'set', 'core.tombstone-commits', 'true']);
    await sameBytes(repo, []);
  });

  it('--view and --raw print what ostree prints, for ostree-written and xylem-written files', () => {
    const { repo } = makeRepo('view');
    run('ostree', [`--repo=${repo}`, 'summary', '-u', '-m', 'map=@a{sv} {}', '-m', "name='n'"]);
    for (let round = 0; round < 2; round++) {
      for (const args of [['--view'], ['--raw'], ['-v']]) {
        const o = ostree([`--repo=${repo}`, 'summary', ...args]);
        const x = xylem([`--repo=${repo}`, 'summary', ...args]);
        expect({ status: x.status, stdout: x.stdout }).toEqual({ status: o.status, stdout: o.stdout });
      }
      expect(run('xylem', [`--repo=${repo}`, 'summary', '--view'])).toContain('Version (ostree.commit.version): 3.3');
      run('xylem', [`--repo=${repo}`, 'summary', '-u', '-m', 'map=@a{sv} {}']);
    }
    expect(run('ostree', [`--repo=${repo}`, 'summary', '--view'])).toMatch(/^map: \{\}$/m);
  });

  it('--view of a collection repo: (COLLECTION, REF) headers, the collection map printed, as ostree', () => {
    tmp ??= new TempDir('xylem-summary-');
    const repo = tmp.join('collections');
    const tree = tmp.join('collections-tree');
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, 'a'), 'a\n');
    run('ostree', [`--repo=${repo}`, 'init', '--mode=archive', '--collection-id=org.example.Collection']);
    run('ostree', [`--repo=${repo}`, 'commit', '-b', 'test-1', '-s', 's', `--tree=dir=${tree}`]);
    run('ostree', [`--repo=${repo}`, 'commit', '-b', 'test-2', '-s', 's', `--tree=dir=${tree}`]);
    run('ostree', [`--repo=${repo}`, 'refs', '--collections', '--create=org.example.OtherCollection:test-1-mirror', 'test-1']);
    run('ostree', [`--repo=${repo}`, 'summary', '-u']);
    for (let round = 0; round < 2; round++) {
      const o = ostree([`--repo=${repo}`, 'summary', '--view']);
      const x = xylem([`--repo=${repo}`, 'summary', '--view']);
      expect({ status: x.status, stdout: x.stdout }).toEqual({ status: o.status, stdout: o.stdout });
      expect(o.stdout).toMatch(/^\* \(org\.example\.OtherCollection, test-1-mirror\)$/m);
      run('xylem', [`--repo=${repo}`, 'summary', '-u']);
    }
  });

  it('bytes equal with remote refs: counted under the remote collection-id, skipped without one', async () => {
    const { repo } = makeRepo('remote-cids');
    run('ostree', [`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', '--collection-id=org.example.Remote', 'withcid', 'http://127.0.0.1:1/']);
    run('ostree', [`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'nocid', 'http://127.0.0.1:1/']);
    run('ostree', [`--repo=${repo}`, 'refs', '--create=withcid:rcommit', 'main']);
    run('ostree', [`--repo=${repo}`, 'refs', '--create=nocid:other', 'other']);
    await sameBytes(repo, []);
    const o = ostree([`--repo=${repo}`, 'summary', '--view']);
    expect(o.stdout).toMatch(/^\* \(org\.example\.Remote, rcommit\)$/m);
    expect(xylem([`--repo=${repo}`, 'summary', '--view']).stdout).toBe(o.stdout);
  });

  it('-u removes summary.sig; bad metadata is refused like ostree', () => {
    const { repo } = makeRepo('sig');
    writeFileSync(join(repo, 'summary.sig'), 'stale');
    run('xylem', [`--repo=${repo}`, 'summary', '-u']);
    expect(existsSync(join(repo, 'summary.sig'))).toBe(false);
    const o = ostree([`--repo=${repo}`, 'summary', '-u', '-m', 'foo=bar']);
    const x = xylem([`--repo=${repo}`, 'summary', '-u', '-m', 'foo=bar']);
    expect(x.status).toBe(o.status);
    expect(x.stderr).toMatch(/^error: Error parsing variant ‘bar’: /);
  });

  it('auto-update hook follows core.auto-update-summary / commit-update-summary', async () => {
    const { repo } = makeRepo('hook');
    const r = await Repo.open(createNodeHost(), repo);
    expect(await maybeUpdateSummary(r, 'refs')).toBe(false);
    run('ostree', [`--repo=${repo}`, 'config', 'set', 'core.commit-update-summary', 'true']);
    await r.reloadConfig();
    expect(await maybeUpdateSummary(r, 'refs')).toBe(false);
    expect(await maybeUpdateSummary(r, 'commit')).toBe(true);
    expect(run('ostree', [`--repo=${repo}`, 'summary', '--view'])).toContain('* main');
    await regenerateSummary(r);
  });
});
