// compose tree with scriptlets and the rpmdb: %pre/%post/%posttrans run in the bwrap sandbox
// (h-sandbox's runner) and their effect is in the commit; the rpmdb written by src/rpmdb is read
// by the real rpm (`rpm -qa --dbpath`); a postprocess script runs last, confined.

import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { executeCompose, planCompose } from '../../src/compose/compose.ts';
import type { ComposeEvent } from '../../src/compose/events.ts';
import { composeServices } from '../../src/compose/services.ts';
import { loadTreefile } from '../../src/compose/treefile.ts';
import { Repo } from '../../src/repo/repo.ts';
import { OSTREE, ROOT, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo } from '../helpers/rpmbuild.ts';
import { BUSYBOX, HAVE_BUSYBOX_STATIC, HAVE_BWRAP, HAVE_ROFILES, HAVE_RPM, IS_ROOT } from '../helpers/script-root.ts';
import { APPB_SCRIPTS, BASESH, LIBA } from './fixtures.ts';
import { staticResolver } from './static-resolver.ts';

const host = createNodeHost();

describe.skipIf(
  missing('compose tree with scripts and rpmdb', {
    ostree: OSTREE !== null,
    rpmbuild: HAVE_RPMBUILD,
    createrepo_c: HAVE_CREATEREPO,
    rpm: HAVE_RPM,
    bwrap: HAVE_BWRAP,
    'rofiles-fuse': HAVE_ROFILES,
    'busybox-static': HAVE_BUSYBOX_STATIC,
    root: IS_ROOT,
  }),
)('compose tree: scripts and rpmdb', () => {
  const tmp = new TempDir('xylem-compose-scripts-');
  afterAll(() => tmp.cleanup());

  it('runs the scripts in the sandbox and writes an rpmdb rpm reads', async () => {
    const fx = buildRepo([BASESH(BUSYBOX!), LIBA('1.0'), APPB_SCRIPTS], tmp.join('fx'));
    writeFileSync(tmp.join('post.sh'), '#!/bin/sh\necho "postprocess in $(ls /usr/share/appb | cat)"\necho done > /usr/share/appb/postprocess-marker\n');
    const tfPath = tmp.join('tf.yaml');
    writeFileSync(tfPath, 'ref: xylem/scripts\npackages: [basesh, liba, appb]\npostprocess-script: post.sh\nselinux: false\n');
    const repoPath = tmp.join('repo');
    const repo = await Repo.init(host, repoPath, { mode: 'bare-user' });
    const cache = await Repo.init(host, tmp.join('cache/pkgcache-repo'), { mode: 'bare-user' });
    const tf = await loadTreefile(host.fs, tfPath);
    const resolution = await staticResolver({ fx }).resolve(tf);
    const plan = await planCompose(repo, cache, tf, resolution, { sha256: () => repo.createSha256() });
    const events: ComposeEvent[] = [];
    const r = await executeCompose(repo, cache, tf, resolution, plan, { workdir: tmp.join('work'), services: composeServices(host, { installTime: 1700000000 }), emit: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'script').map((e) => e.type === 'script' && e.script)).toEqual(['appb.prein', 'appb.post', 'appb.posttrans']);
    const ost = (args: string[]) => execFileSync(OSTREE!, [`--repo=${repoPath}`, ...args], { encoding: 'utf8' });
    expect(ost(['cat', r.commit!, '/usr/share/appb/post-marker'])).toBe('post ran with 1\n');
    expect(ost(['cat', r.commit!, '/usr/share/appb/postprocess-marker'])).toBe('done\n');
    ost(['fsck']);
    // The real rpm reads the rpmdb in the checkout.
    const co = tmp.join('co');
    ost(['checkout', '-U', r.commit!, co]);
    const qa = execFileSync('rpm', ['-qa', `--dbpath=${join(co, 'usr/share/rpm')}`, '--qf', '%{NEVRA}\n'], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(qa).toEqual(['appb-1:2.1-3.noarch', 'basesh-1.35-1.x86_64', 'liba-1.0-1.noarch']);
    expect(execFileSync('rpm', ['-q', `--dbpath=${join(co, 'usr/share/rpm')}`, '--qf', '%{INSTALLTIME}', 'liba'], { encoding: 'utf8' })).toBe('1700000000');
    expect(ost(['show', r.commit!, '--print-metadata-key=rpmostree.rpmdb.pkglist']).trim()).toBe("[('appb', '1', '2.1', '3', 'noarch'), ('basesh', '0', '1.35', '1', 'x86_64'), ('liba', '0', '1.0', '1', 'noarch')]");

    // An upgrade with a new changelog entry: db diff --changelogs prints it as rpm --changelog does.
    const liba11 = { ...LIBA('1.1'), changelog: [
      { date: 'Wed Dec 09 2026', author: 'Xylem Tests <tests@xylem.invalid>', text: '- second change' },
      { date: 'Tue Dec 08 2026', author: 'Xylem Tests <tests@xylem.invalid>', text: '- first change' },
      { date: 'Mon Dec 07 2026', author: 'Xylem Tests <tests@xylem.invalid>', text: '- built for a test' },
    ] };
    const fx2 = buildRepo([liba11], tmp.join('fx2'));
    const res2 = await staticResolver({ fx, fx2 }).resolve(tf);
    const plan2 = await planCompose(repo, cache, tf, res2, { sha256: () => repo.createSha256() });
    const r2 = await executeCompose(repo, cache, tf, res2, plan2, { workdir: tmp.join('work'), services: composeServices(host, { installTime: 1700000000 }) });
    const rpmLog = execFileSync('rpm', ['-qp', '--changelog', join(fx2, 'liba-1.1-1.noarch.rpm')], { encoding: 'utf8' });
    const newEntries = rpmLog.split('\n\n').slice(0, 2).join('\n\n') + '\n\n';
    const d = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/rpm-xylem/main.ts'), 'db', 'diff', '--changelogs', `--repo=${repoPath}`, r.commit!, r2.commit!], { cwd: ROOT, encoding: 'utf8' });
    expect(d.stderr).toBe('');
    expect(d.stdout).toBe(`ostree diff commit from: ${r.commit}\nostree diff commit to:   ${r2.commit}\nUpgraded:\n  liba 1.0-1 -> 1.1-1\n${newEntries}`);
  });
});
