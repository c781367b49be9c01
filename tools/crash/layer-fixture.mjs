// The crash campaign's layering fixture, built once per run: fixture RPMs and an rpm-md repo
// (tools/crash/layer-rpms.ts: rpmbuild + createrepo_c) served on 127.0.0.1 by xylem trivial-httpd
// (started here, stopped by the campaign), a base composed by `rpm-xylem compose tree`, deployed
// with `xylem admin` into a fresh sysroot whose /etc names the repo, and from it the sysroots the
// layering scenarios copy: the base (install, override remove|replace), the base with libvirt
// layered (uninstall), and that one with a re-composed base (liba 2.0) on its ref (upgrade).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { adminStatus } from './checks.mjs';
import { must, startHttpd } from './proc.mjs';

/** The base's packages as `rpm -qa` lists them, and what each scenario's end state holds. */
export const BASE_RPMS = ['basesh-1.35-1.x86_64', 'docker-1.0-1.noarch', 'filesystem-3.18-1.noarch', 'iptables-1.0-1.noarch', 'liba-1.0-1.noarch'];
export const LIBVIRT_RPMS = ['libvirt-9.0-1.noarch', 'libvirt-libs-9.0-1.noarch'];

/**
 * Copies a sysroot with `cp -a`: a bare repo keeps owners and xattrs in its object files (libvirt's
 * file is owned by uid 107), and deployments share inodes with the repo; cpSync keeps neither.
 */
export function copyTree(from, to) {
  must('cp', ['-a', from, to]);
}

/** The `csum.serial` folder of a deployment of `sysroot`. */
export function deployDir(sysroot, dep) {
  return join(sysroot, 'ostree/deploy/testos/deploy', dep);
}

/** `rpm -qa` of a deployment (its rpmdb under usr/share/rpm), sorted. */
export function rpmQa(sysroot, dep) {
  return must('rpm', ['-qa', `--dbpath=${join(deployDir(sysroot, dep), 'usr/share/rpm')}`, '--qf', '%{NEVRA}\n']).trim().split('\n').sort();
}

/**
 * Builds the layering fixture under `dir`. `cli` and `rpmCli` are the bundled xylem and rpm-xylem;
 * `root` the checkout (for tsx). Returns the fixture and the HTTP server (the caller stops it).
 */
export async function buildLayerFixture(dir, { root, cli, rpmCli }) {
  const lx = { dir };
  const web = join(dir, 'web');
  const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
  const built = JSON.parse(must(process.execPath, ['--import', tsx, join(root, 'tools/crash/layer-rpms.ts'), web, join(dir, 'local')], { cwd: root }));
  lx.iptables = built.iptables;
  const httpd = await startHttpd(cli, web, join(dir, 'httpd-port'));
  try {
    const url = httpd.url;
    const rx = (...a) => must(process.execPath, [rpmCli, ...a], { cwd: dir });
    const xy = (...a) => must(process.execPath, [cli, ...a], { cwd: dir });
    // The treefiles name repo `fx`: rpm-xylem reads fx.repo from the treefile's folder.
    const repoFile = join(dir, 'local/fx.repo');
    writeFileSync(repoFile, `[fx]\nname=Fixtures\nbaseurl=${url}/fx/\ngpgcheck=0\nmetadata_expire=0\n`);
    const compose = join(dir, 'compose');
    must('ostree', ['init', `--repo=${compose}`, '--mode=archive']);
    const composeBase = (liba) => {
      const out = rx('compose', 'tree', `--repo=${compose}`, `--cachedir=${join(dir, 'cc')}`, built.treefiles[liba]);
      const m = /testos\/stable => ([0-9a-f]{64})/.exec(out);
      if (!m) throw new Error(`compose printed no commit:\n${out}`);
      return m[1];
    };
    lx.base1 = composeBase('1.0');

    // The base sysroot: deployed by xylem, the repo configuration in the deployment's /etc.
    lx.sysroot = join(dir, 'sysroot');
    mkdirSync(lx.sysroot);
    xy('admin', 'init-fs', lx.sysroot);
    xy('admin', `--sysroot=${lx.sysroot}`, 'os-init', 'testos');
    must('ostree', [`--repo=${lx.sysroot}/ostree/repo`, 'pull-local', compose, 'testos/stable']);
    xy('admin', `--sysroot=${lx.sysroot}`, 'deploy', '--os=testos', 'testos/stable');
    lx.baseDep = (await adminStatus(lx.sysroot))[0];
    const etc = join(deployDir(lx.sysroot, lx.baseDep), 'etc/yum.repos.d');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'fx.repo'), readFileSync(repoFile));

    // libvirt layered on the base (the rpm-md cache under /var is filled here, as on a real host).
    lx.layered = join(dir, 'layered');
    copyTree(lx.sysroot, lx.layered);
    rx('install', 'libvirt', `--sysroot=${lx.layered}`);
    lx.layeredDep = (await adminStatus(lx.layered))[0];

    // …and a new base (liba 2.0) on its ref, for upgrade.
    lx.upgradable = join(dir, 'upgradable');
    copyTree(lx.layered, lx.upgradable);
    lx.base2 = composeBase('2.0');
    must('ostree', [`--repo=${lx.upgradable}/ostree/repo`, 'pull-local', compose, 'testos/stable']);
  } catch (e) {
    httpd.stop();
    throw e;
  }
  return { lx, httpd };
}
