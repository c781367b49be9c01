// install-langs is rpm's %_install_langs: files of other languages are not installed. The oracle
// is Debian's rpm itself — `rpm -i --root=SCRATCH --define '_install_langs …'` of the same package
// gives the file set the composed commit must have, for several language lists.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { executeCompose, planCompose } from '../../src/compose/compose.ts';
import { langWanted } from '../../src/compose/treefile-steps.ts';
import { loadTreefile } from '../../src/compose/treefile.ts';
import { Repo } from '../../src/repo/repo.ts';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo, type FixturePackage } from '../helpers/rpmbuild.ts';
import { HAVE_RPM, IS_ROOT } from '../helpers/script-root.ts';
import { staticResolver } from './static-resolver.ts';

const host = createNodeHost();

const LANGS: FixturePackage = {
  name: 'langs',
  version: '1.0',
  release: '1',
  files: [
    { path: '/usr/bin/langs', content: '#!/bin/sh\n', mode: 0o755 },
    { path: '/usr/share/langs/plain.txt', content: 'no language\n' },
    { path: '/usr/share/langs/de.mo', content: 'de\n', attr: '%lang(de)' },
    { path: '/usr/share/langs/de_DE.mo', content: 'de_DE\n', attr: '%lang(de_DE)' },
    { path: '/usr/share/langs/de_AT.mo', content: 'de_AT\n', attr: '%lang(de_AT)' },
    { path: '/usr/share/langs/fr.mo', content: 'fr\n', attr: '%lang(fr)' },
    { path: '/usr/share/langs/pt_BR.mo', content: 'pt_BR\n', attr: '%lang(pt_BR)' },
    { path: '/usr/share/langs/C.mo', content: 'C\n', attr: '%lang(C)' },
    { path: '/usr/share/langs/multi.mo', content: 'fr or pt_BR\n', attr: '%lang(fr,pt_BR)' },
    { path: '/usr/share/langs/sym-de', type: 'symlink', target: 'de.mo', attr: '%lang(de)' },
  ],
};

describe('langWanted', () => {
  it('keeps unlabelled files, honours all, matches a file language that prefixes a wanted one', () => {
    expect(langWanted('', ['fr'])).toBe(true);
    expect(langWanted('de', ['all'])).toBe(true);
    expect(langWanted('de', ['de_DE'])).toBe(true);
    expect(langWanted('de_DE', ['de'])).toBe(false);
    expect(langWanted('fr|pt_BR', ['pt_BR'])).toBe(true);
  });
});

describe.skipIf(missing('install-langs against rpm', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO, rpm: HAVE_RPM, root: IS_ROOT }))('compose tree: install-langs', () => {
  const tmp = new TempDir('xylem-compose-langs-');
  afterAll(() => tmp.cleanup());
  const fx = buildRepo([LANGS], tmp.join('fx'));
  const rpmFile = join(fx, readdirSync(fx).find((f) => f.endsWith('.rpm'))!);
  const repoPath = tmp.join('repo');

  /** The files rpm installs under /usr/share/langs with `_install_langs` = langs joined by ':'. */
  function rpmInstalls(langs: string[], n: number): string[] {
    const root = tmp.join(`rpmroot-${n}`);
    mkdirSync(root, { recursive: true });
    execFileSync('rpm', ['-i', `--root=${root}`, '--nodeps', '--noscripts', '--define', `_install_langs ${langs.join(':')}`, rpmFile], { stdio: 'pipe' });
    return readdirSync(join(root, 'usr/share/langs')).sort();
  }

  async function composeFiles(langs: string[], n: number): Promise<string[]> {
    const tfPath = tmp.join(`tf-${n}.yaml`);
    writeFileSync(tfPath, `ref: langs/${n}\npackages: [langs]\nselinux: false\ninstall-langs: ${JSON.stringify(langs)}\n`);
    const repo = await Repo.init(host, repoPath, { mode: 'archive' });
    const cache = await Repo.init(host, tmp.join('cache/pkgcache-repo'), { mode: 'bare-user' });
    const tf = await loadTreefile(host.fs, tfPath);
    const res = await staticResolver({ fx }).resolve(tf);
    const plan = await planCompose(repo, cache, tf, res, { sha256: () => repo.createSha256() });
    const r = await executeCompose(repo, cache, tf, res, plan, { workdir: tmp.join(`work-${n}`) });
    const ls = execFileSync(OSTREE!, [`--repo=${repoPath}`, 'ls', r.commit!, '/usr/share/langs'], { encoding: 'utf8' });
    return ls.trim().split('\n').slice(1).map((l) => l.replace(/ -> .*$/, '').split(/\s+/).pop()!.replace(/^.*\//, '')).sort();
  }

  const cases = [['de_DE', 'pt'], ['fr'], ['pt_BR'], ['all'], ['C'], ['de_AT', 'en_US']];
  for (let i = 0; i < cases.length; i++) {
    it(`install-langs ${JSON.stringify(cases[i])} installs what rpm installs`, async () => {
      const want = rpmInstalls(cases[i]!, i);
      expect(want).toContain('plain.txt');
      expect(await composeFiles(cases[i]!, i)).toEqual(want);
    });
  }

  it('without install-langs every file is there', async () => {
    const tfPath = tmp.join('tf-all.yaml');
    writeFileSync(tfPath, 'ref: langs/none\npackages: [langs]\nselinux: false\n');
    const repo = await Repo.init(host, repoPath, { mode: 'archive' });
    const cache = await Repo.init(host, tmp.join('cache/pkgcache-repo'), { mode: 'bare-user' });
    const tf = await loadTreefile(host.fs, tfPath);
    const res = await staticResolver({ fx }).resolve(tf);
    const plan = await planCompose(repo, cache, tf, res, { sha256: () => repo.createSha256() });
    const r = await executeCompose(repo, cache, tf, res, plan, { workdir: tmp.join('work-all') });
    const ls = execFileSync(OSTREE!, [`--repo=${repoPath}`, 'ls', r.commit!, '/usr/share/langs'], { encoding: 'utf8' });
    expect(ls.trim().split('\n').length - 1).toBe(LANGS.files!.length - 1);
    expect(statSync(rpmFile).size).toBeGreaterThan(0);
  });
});
