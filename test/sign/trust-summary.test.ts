// Summary trust edge cases from the upstream suite (test-pull-summary-sigs,
// test-signed-pull-summary, test-remote-gpg-import), each run by the real ostree and by xylem on
// twin repos: summary caches (prune, --cache-dir, OSTREE_REPO_TEST_ERROR=invalid-cache), delta
// indexes written by `summary -u`, and `remote summary` / `remote refs` over HTTP with
// gpg-verify-summary.

import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAN_RUN } from './helpers.ts';
import { TOOLS, trustFixture } from './trust-fixture.ts';

if (!CAN_RUN && process.env.CI === 'true') throw new Error('trust-summary: the real ostree, gpg and the ostree-tests GnuPG keys are required (CI=true)');
if (!CAN_RUN) console.warn('\n!!! trust-summary: SKIPPED — needs the real ostree, gpg and the ostree-tests keys !!!\n');

describe.skipIf(!CAN_RUN)('summary trust edge cases, ostree vs xylem', () => {
  const fx = trustFixture();
  const { exec, must, serverRepo, signArgs } = fx;

  it('summary cache: prune drops deleted remotes, a stale cache is caught, --cache-dir caches elsewhere', async () => {
    const srv = await serverRepo('cache', signArgs());
    await must('ostree', [`--repo=${srv.path}`, 'summary', '-u', ...signArgs()]);
    for (const t of TOOLS) {
      const repo = fx.tmp.join(`cache-${t}`);
      await must('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${repo}`, 'remote', 'add', '--set=gpg-verify-summary=true', 'origin', srv.url]);
      await must(t, [`--repo=${repo}`, 'pull', 'origin', 'main']);
      const cache = join(repo, 'tmp/cache/summaries');
      expect(readdirSync(cache).sort(), t).toEqual(['origin', 'origin.sig']);
      writeFileSync(join(cache, 'foo'), '');
      writeFileSync(join(cache, 'foo.sig'), '');
      await must(t, [`--repo=${repo}`, 'prune']);
      expect(readdirSync(cache).sort(), t).toEqual(['origin', 'origin.sig']);

      // A cached summary that no longer matches its signature: reported under the test error,
      // then fetched again (and the cache repaired) by a normal pull.
      const good = readFileSync(join(cache, 'origin'));
      writeFileSync(join(cache, 'origin'), Buffer.concat([good, Buffer.from('x')]));
      const r = await exec(t, [`--repo=${repo}`, 'pull', 'origin', 'main'], { OSTREE_REPO_TEST_ERROR: 'invalid-cache' });
      expect(r.status, t).not.toBe(0);
      expect(r.stderr, t).toContain('Remote origin cached summary invalid and OSTREE_REPO_TEST_ERROR_INVALID_CACHE specified');
      await must(t, [`--repo=${repo}`, 'pull', 'origin', 'main']);
      expect(readFileSync(join(cache, 'origin')).equals(good), t).toBe(true);

      const repo2 = fx.tmp.join(`cachedir-${t}`);
      const dir = fx.tmp.join(`cachedir-${t}-dir`);
      mkdirSync(dir);
      await must('ostree', [`--repo=${repo2}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${repo2}`, 'remote', 'add', '--set=gpg-verify-summary=true', 'origin', srv.url]);
      await must(t, [`--repo=${repo2}`, 'pull', `--cache-dir=${dir}`, 'origin', 'main']);
      expect(existsSync(join(repo2, 'tmp/cache/summaries/origin')), t).toBe(false);
      expect(readdirSync(join(dir, 'summaries')).sort(), t).toEqual(['origin', 'origin.sig']);
      const missing = await exec(t, [`--repo=${repo2}`, 'pull', `--cache-dir=${fx.tmp.join('nowhere')}`, 'origin', 'main']);
      expect(missing.stderr, t).toContain(`opendir(${fx.tmp.join('nowhere')}): No such file or directory`);
    }
  }, 120_000);

  it('summary -u rewrites the delta indexes as ostree does', async () => {
    const srv = await serverRepo('deltas');
    const tree = fx.tmp.join('tree-deltas');
    writeFileSync(join(tree, 'usr/etc/os-release'), 'ID=testos\nVERSION=2\n');
    await must('ostree', [`--repo=${srv.path}`, 'commit', '-b', 'main', '-s', 'two', `--tree=dir=${tree}`]);
    await must('ostree', [`--repo=${srv.path}`, 'static-delta', 'generate', 'main']);
    const listing: Record<string, string[]> = {};
    for (const t of TOOLS) {
      const copy = fx.tmp.join(`deltas-${t}`);
      cpSync(srv.path, copy, { recursive: true });
      await must(t, [`--repo=${copy}`, 'summary', '-u']);
      const idx = join(copy, 'delta-indexes');
      listing[t] = readdirSync(idx, { recursive: true }).map(String).sort();
      expect(readFileSync(join(copy, 'config'), 'utf8'), t).toContain('indexed-deltas=true');
    }
    expect(listing.xylem).toEqual(listing.ostree);
    expect(listing.ostree!.some((f) => f.endsWith('.index'))).toBe(true);
    for (const f of listing.ostree!.filter((n) => n.endsWith('.index')))
      expect(readFileSync(join(fx.tmp.join('deltas-xylem'), 'delta-indexes', f))).toEqual(readFileSync(join(fx.tmp.join('deltas-ostree'), 'delta-indexes', f)));
  }, 120_000);

  it('remote summary / remote refs over HTTP verify gpg-verify-summary and print the same report', async () => {
    const srv = await serverRepo('rsum', signArgs());
    await must('ostree', [`--repo=${srv.path}`, 'summary', '-u', ...signArgs()]);
    const out: Record<string, string[]> = {};
    for (const t of TOOLS) {
      const repo = fx.tmp.join(`rsum-${t}`);
      await must('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${repo}`, 'remote', 'add', '--set=gpg-verify-summary=true', 'origin', srv.url]);
      out[t] = [await must(t, [`--repo=${repo}`, 'remote', 'summary', 'origin']), await must(t, [`--repo=${repo}`, 'remote', 'refs', 'origin'])];
    }
    expect(out.xylem).toEqual(out.ostree);
    expect(out.ostree![0]).toContain('GPG: Verification enabled, found 1 signature:');
    expect(out.ostree![0]).toContain('Good signature from "Ostree Tester <test@test.com>"');
    // Without the key, both refuse the summary with the same report.
    const errs: Record<string, string> = {};
    for (const t of TOOLS) {
      const r = await exec(t, [`--repo=${fx.tmp.join(`rsum-${t}`)}`, 'remote', 'summary', 'origin'], { OSTREE_GPG_HOME: fx.tmp.join('none') });
      expect(r.status, t).not.toBe(0);
      errs[t] = r.stderr;
    }
    expect(errs.xylem).toContain("Can't check signature: public key not found");
    expect(errs.xylem).toEqual(errs.ostree);
  }, 120_000);
});
