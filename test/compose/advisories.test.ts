// rpmostree.advisories: a repo's updateinfo (added with createrepo_c's modifyrepo_c) gives the
// composed commit the security advisories naming an installed package exactly; the real ostree
// prints the a(suuasa{sv}) variant (GLib's printer is the oracle for the encoding). Bugfix
// advisories and advisories for other versions stay out; advisories-metadata: disabled drops it.

import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cveReferences } from '../../src/compose/advisories.ts';
import { OSTREE, ROOT, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo, hasCommand } from '../helpers/rpmbuild.ts';
import { APPB, LIBA } from './fixtures.ts';

function cli(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'tools/rpm-xylem/main.ts'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const UPDATEINFO = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="updates@xylem.invalid" status="stable" type="security" version="2.0">
    <id>XYLEM-2026-0002</id>
    <title>liba security update</title>
    <issued date="2026-12-01 00:00:00"/>
    <severity>Important</severity>
    <references>
      <reference href="https://bugzilla.example/200" id="200" type="bugzilla" title="CVE-2026-1111 liba: overflow [fedora-all]"/>
      <reference href="https://bugzilla.example/100" id="100" type="bugzilla" title="CVE-2026-1111 liba: overflow"/>
      <reference href="https://bugzilla.example/300" id="300" type="bugzilla" title="CVE-2026-2222 liba: second bug"/>
      <reference href="https://cve.example/1" id="1" type="cve" title="CVE-2026-3333"/>
    </references>
    <pkglist><collection short="x"><name>x</name>
      <package name="liba" version="1.1" release="1" epoch="0" arch="noarch"><filename>liba-1.1-1.noarch.rpm</filename></package>
      <package name="other" version="1" release="1" epoch="0" arch="noarch"><filename>other-1-1.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update from="updates@xylem.invalid" status="stable" type="security" version="2.0">
    <id>XYLEM-2026-0001</id>
    <title>old liba</title>
    <severity>Low</severity>
    <references/>
    <pkglist><collection short="x"><name>x</name>
      <package name="liba" version="1.0" release="1" epoch="0" arch="noarch"><filename>liba-1.0-1.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update from="updates@xylem.invalid" status="stable" type="bugfix" version="2.0">
    <id>XYLEM-2026-0003</id>
    <title>appb fix</title>
    <references/>
    <pkglist><collection short="x"><name>x</name>
      <package name="appb" version="2.1" release="3" epoch="1" arch="noarch"><filename>appb-2.1-3.noarch.rpm</filename></package>
    </collection></pkglist>
  </update>
</updates>
`;

describe('cveReferences', () => {
  it('keeps bugzilla references by URL, one per new CVE', () => {
    const refs = cveReferences({
      references: [
        { href: 'b', id: '2', type: 'bugzilla', title: 'CVE-1-1 again' },
        { href: 'a', id: '1', type: 'bugzilla', title: 'CVE-1-1 first' },
        { href: 'c', id: '3', type: 'bugzilla', title: 'no cve here' },
        { href: 'd', id: '4', type: 'cve', title: 'CVE-2-2' },
      ],
    });
    expect(refs).toEqual([['a', 'CVE-1-1 first']]);
  });
});

describe.skipIf(missing('compose advisories', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO, modifyrepo_c: hasCommand('modifyrepo_c') }))('compose tree: rpmostree.advisories', () => {
  const tmp = new TempDir('xylem-compose-adv-');
  afterAll(() => tmp.cleanup());

  it('records the security advisories of the installed packages', () => {
    const fx = buildRepo([LIBA('1.1'), APPB], tmp.join('fx'));
    writeFileSync(tmp.join('updateinfo.xml'), UPDATEINFO);
    execFileSync('modifyrepo_c', ['--mdtype=updateinfo', tmp.join('updateinfo.xml'), join(fx, 'repodata')], { stdio: 'pipe' });
    writeFileSync(tmp.join('fx.repo'), `[fx]\nbaseurl=file://${fx}\ngpgcheck=0\n`);
    writeFileSync(tmp.join('tf.yaml'), 'ref: adv/test\nrepos: [fx]\npackages: [appb]\nselinux: false\n');
    writeFileSync(tmp.join('off.yaml'), 'ref: adv/off\nrepos: [fx]\npackages: [appb]\nselinux: false\nadvisories-metadata: disabled\n');
    const repo = tmp.join('repo');
    execFileSync(OSTREE!, ['init', `--repo=${repo}`, '--mode=archive']);
    const r = cli(['compose', 'tree', `--repo=${repo}`, `--cachedir=${tmp.join('cache')}`, 'tf.yaml'], tmp.path);
    expect(r.status, r.stderr).toBe(0);
    const show = execFileSync(OSTREE!, [`--repo=${repo}`, 'show', 'adv/test', '--print-metadata-key=rpmostree.advisories'], { encoding: 'utf8' }).trim();
    expect(show).toBe(
      "[('XYLEM-2026-0002', uint32 1, uint32 3, ['liba-1.1-1.noarch'], {'cve_references': <[('https://bugzilla.example/100', 'CVE-2026-1111 liba: overflow'), ('https://bugzilla.example/300', 'CVE-2026-2222 liba: second bug')]>})]",
    );
    const off = cli(['compose', 'tree', `--repo=${repo}`, `--cachedir=${tmp.join('cache')}`, 'off.yaml'], tmp.path);
    expect(off.status, off.stderr).toBe(0);
    const none = spawnSync(OSTREE!, [`--repo=${repo}`, 'show', 'adv/off', '--print-metadata-key=rpmostree.advisories'], { encoding: 'utf8' });
    expect(none.stderr).toMatch(/No such metadata key/);
  });
});
