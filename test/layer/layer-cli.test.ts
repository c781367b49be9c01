// Client-side package layering end to end, the seed's sequence on a throw-away sysroot: a base
// composed by `rpm-xylem compose tree` from fixture RPMs (rpmbuild + createrepo_c, served on
// 127.0.0.1), deployed with `xylem admin`; then `rpm-xylem install` (+ dependency, %post in the
// sandbox), `status`, `override remove`, `override replace ./x.rpm`, `override reset --all` and
// `uninstall` — after which /usr is bit-for-bit the base (content, mode, owner, xattrs), the
// layered package's unmodified /etc config is gone and /var is unchanged. Oracles: `rpm -qa
// --dbpath`, the real `ostree admin status`, `ostree fsck`, `ostree show`, getfattr. Bad input
// (unsigned package with gpgcheck=1, corrupt local .rpm, failing %post, unmet dependency,
// version skew) is refused with a clear error, exit 1, and nothing deployed.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { runTs as runTsEntry, type TsRunResult } from '../helpers/run-ts.ts';
import { BASESH, DOCKER, FILESYSTEM, IPTABLES, LIBA, LIBVIRT, LIBVIRT_LIBS, baseTreefile } from '../helpers/layer-fixture.ts';
import { serve } from '../helpers/serve-dir.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, HAVE_RPMSIGN, buildRepo, buildRpm, hasCommand, makeSigningKey, signRpm, type FixturePackage } from '../helpers/rpmbuild.ts';
import { BUSYBOX, HAVE_BUSYBOX_STATIC, HAVE_BWRAP, HAVE_RPM, IS_ROOT } from '../helpers/script-root.ts';

const ENV = { OSTREE_SYSROOT_DEBUG: 'mutable-deployments', NODE_OPTIONS: '' };

const runTs = (entry: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<TsRunResult> => runTsEntry(entry, args, cwd, { ...ENV, ...env });

const FAILPOST: FixturePackage = { name: 'failpost', version: '1.0', requires: ['/bin/sh'], files: [{ path: '/usr/share/failpost', content: 'x\n' }], scripts: { post: 'echo failing on purpose; exit 3' } };
const UNMET: FixturePackage = { name: 'unmet', version: '1.0', requires: ['nonexistent-capability'], files: [{ path: '/usr/share/unmet', content: 'x\n' }] };
const NEEDS_NEW_LIBA: FixturePackage = { name: 'needsnew', version: '1.0', requires: ['liba >= 2.0'], files: [{ path: '/usr/share/needsnew', content: 'x\n' }] };
const SIGNED: FixturePackage = { name: 'signedpkg', version: '1.0', files: [{ path: '/usr/share/signedpkg', content: 'signed\n' }] };
const UNSIGNED: FixturePackage = { name: 'unsignedpkg', version: '1.0', files: [{ path: '/usr/share/unsignedpkg', content: 'x\n' }] };

/** Every entry under `dir`: type, mode, owner, content or link target, xattrs (getfattr). */
function treeManifest(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = join(dir, rel);
    const st = lstatSync(p);
    let what = '';
    if (st.isSymbolicLink()) what = `-> ${readlinkSync(p)}`;
    else if (st.isFile()) what = readFileSync(p).toString('base64');
    out.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(rel ? `${rel}/${e}` : e);
  };
  walk('');
  const x = execFileSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '--absolute-names', '-e', 'hex', dir], { encoding: 'utf8', maxBuffer: 64 << 20 }).split(dir).join('<root>');
  out.push(x);
  return out;
}

describe.skipIf(
  missing('rpm-xylem layering', {
    ostree: OSTREE !== null,
    rpmbuild: HAVE_RPMBUILD,
    createrepo_c: HAVE_CREATEREPO,
    rpm: HAVE_RPM,
    bwrap: HAVE_BWRAP,
    'busybox-static': HAVE_BUSYBOX_STATIC,
    rpmsign: HAVE_RPMSIGN,
    getfattr: hasCommand('getfattr'),
    root: IS_ROOT,
  }),
)('rpm-xylem install / override / uninstall on a composed base', () => {
  const tmp = new TempDir('xylem-layer-');
  const sys = tmp.join('sys');
  const web = tmp.join('web');
  let srv: Awaited<ReturnType<typeof serve>>;
  let base = '';
  let deployRoot = '';
  const rx = (args: string[], env: Record<string, string> = {}) => runTs('tools/rpm-xylem/main.ts', [...args, `--sysroot=${sys}`], tmp.path, env);
  const xy = (args: string[]) => runTs('tools/cli.ts', args, tmp.path);
  const ost = (args: string[]) => execFileSync(OSTREE!, args, { encoding: 'utf8', env: { ...process.env, ...ENV } });
  const repoArg = `--repo=${sys}/ostree/repo`;
  /** The first deployment: [commit, its root]. */
  const top = (): [string, string] => {
    const m = /^[* ] testos ([0-9a-f]{64})\.(\d+)/m.exec(ost(['admin', `--sysroot=${sys}`, 'status']))!;
    return [m[1]!, join(sys, 'ostree/deploy/testos/deploy', `${m[1]}.${m[2]}`)];
  };
  const rpmqa = (root: string) => execFileSync('rpm', ['-qa', `--dbpath=${join(root, 'usr/share/rpm')}`, '--qf', '%{NEVRA}\n'], { encoding: 'utf8' }).trim().split('\n').sort();
  const checkOracles = () => {
    ost(['admin', `--sysroot=${sys}`, 'status']);
    ost(['fsck', repoArg]);
  };
  const varRoot = () => join(sys, 'ostree/deploy/testos/var');
  const varManifest = () => treeManifest(varRoot()).filter((l) => !l.startsWith('cache/rpm-ostree') && !l.startsWith('cache ') && !l.includes('<root>/cache/rpm-ostree'));

  beforeAll(async () => {
    const busybox = BUSYBOX!;
    srv = await serve(web);
    buildRepo([FILESYSTEM, BASESH(busybox), LIBA('1.0'), LIBA('2.0'), DOCKER, IPTABLES('1.0'), LIBVIRT_LIBS, LIBVIRT, FAILPOST, UNMET, NEEDS_NEW_LIBA], join(web, 'fx'));
    const key = makeSigningKey();
    signRpm(buildRpm(SIGNED, join(web, 'signed')), key);
    buildRepo([UNSIGNED], join(web, 'signed'));
    // The base compose pins liba 1.0 (the repo also has 2.0, for the skew case).
    writeFileSync(tmp.join('fx.repo'), `[fx]\nname=Fixtures\nbaseurl=${srv.url}fx/\ngpgcheck=0\nmetadata_expire=0\n`);
    writeFileSync(tmp.join('base.yaml'), baseTreefile('1.0'));
    execFileSync(OSTREE!, ['init', `--repo=${tmp.join('compose')}`, '--mode=archive']);
    const c = await rx(['compose', 'tree', `--repo=${tmp.join('compose')}`, `--cachedir=${tmp.join('cc')}`, 'base.yaml']);
    expect(c.status, c.stderr).toBe(0);
    base = /testos\/stable => ([0-9a-f]{64})/.exec(c.stdout)![1]!;
    mkdirSync(sys);
    for (const args of [['admin', 'init-fs', sys], ['admin', `--sysroot=${sys}`, 'os-init', 'testos']]) {
      const r = await xy(args);
      expect(r.status, r.stderr).toBe(0);
    }
    ost([repoArg, 'pull-local', tmp.join('compose'), 'testos/stable']);
    const d = await xy(['admin', `--sysroot=${sys}`, 'deploy', '--os=testos', 'testos/stable']);
    expect(d.status, d.stderr).toBe(0);
    deployRoot = top()[1];
    // The host's repo configuration and keys live in the deployment's /etc.
    mkdirSync(join(deployRoot, 'etc/yum.repos.d'), { recursive: true });
    mkdirSync(join(deployRoot, 'etc/pki/rpm-gpg'), { recursive: true });
    writeFileSync(join(deployRoot, 'etc/pki/rpm-gpg/RPM-GPG-KEY-test'), execFileSync('gpg', ['--armor', '--export', key.name], { env: { ...process.env, GNUPGHOME: key.gnupgHome } }));
    writeFileSync(
      join(deployRoot, 'etc/yum.repos.d/test.repo'),
      `[fx]\nbaseurl=${srv.url}fx/\ngpgcheck=0\nmetadata_expire=0\n\n[signed]\nbaseurl=${srv.url}signed/\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-test\nmetadata_expire=0\n`,
    );
    // A local replacement for the base's iptables, and a corrupt local package.
    const rpms = tmp.join('rpms');
    copyFileSync(buildRpm(IPTABLES('1.1'), rpms), tmp.join('iptables-1.1.rpm'));
    const good = readFileSync(buildRpm({ name: 'corrupt', version: '1.0', files: [{ path: '/usr/share/corrupt', content: 'y'.repeat(5000) }] }, rpms));
    const bad = Buffer.from(good);
    bad[bad.length - 100] ^= 0xff;
    writeFileSync(tmp.join('corrupt-1.0.rpm'), bad);
  }, 300_000);

  afterAll(() => {
    srv?.server.close();
    if (!process.env.XYLEM_LAYER_KEEP) tmp.cleanup();
    else console.log(`kept ${tmp.path}`);
  });

  it('refuses bad input before anything is deployed', async () => {
    const before = ost(['admin', `--sysroot=${sys}`, 'status']);
    const cases: Array<[string[], RegExp]> = [
      [['install', 'unsignedpkg'], /unsignedpkg-1\.0-1\.noarch \(repo 'signed'\): the package is not signed, and its repository has gpgcheck=1/],
      [['install', './corrupt-1.0.rpm'], /corrupt-1\.0\.rpm: (digests do not match|not a valid RPM package)/],
      [['install', 'failpost'], /failpost/],
      [['install', 'unmet'], /nothing provides nonexistent-capability needed by unmet-1\.0-1\.noarch/],
      [['install', 'needsnew'], /Version skew between the base and the rpm-md repos: needsnew-1\.0-1\.noarch needs[\s\S]*liba 1\.0-1 in the base -> 2\.0-1 \(from fx\)[\s\S]*Suggested fix: upgrade the base first/],
      [['install', 'docker'], /"docker" is already provided by: docker-1\.0-1\.noarch\. Use --allow-inactive/],
      [['uninstall', 'libvirt'], /Package\/capability 'libvirt' is not currently requested/],
      [['override', 'remove', 'nosuchpkg'], /Package 'nosuchpkg' not found in the base/],
    ];
    for (const [args, re] of cases) {
      const r = await rx(args);
      expect(r.status, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^error: /);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(ost(['admin', `--sysroot=${sys}`, 'status'])).toBe(before);
    }
    const dry = await rx(['install', '--dry-run', 'libvirt']);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Added:\n  libvirt-9.0-1.noarch\n  libvirt-libs-9.0-1.noarch\n');
    expect(dry.stdout).toContain("Exiting because of '--dry-run' option");
    expect(ost(['admin', `--sysroot=${sys}`, 'status'])).toBe(before);
    const fp = await rx(['install', 'failpost']);
    expect(fp.stderr).toMatch(/%post|post/);
    checkOracles();
  }, 300_000);

  it('runs the seed sequence: install → status → override remove → override replace → reset + uninstall', async () => {
    const baseCheckout = tmp.join('base-checkout');
    ost([repoArg, 'checkout', base, baseCheckout]);
    const baseUsr = treeManifest(join(baseCheckout, 'usr'));
    const baseRpms = rpmqa(baseCheckout);
    expect(baseRpms).toEqual(['basesh-1.35-1.x86_64', 'docker-1.0-1.noarch', 'filesystem-3.18-1.noarch', 'iptables-1.0-1.noarch', 'liba-1.0-1.noarch']);
    const var0 = varManifest();

    // install: libvirt and its dependency, %post in the sandbox
    const t0 = Date.now();
    const i = await rx(['install', 'libvirt']);
    const t1 = Date.now();
    if (process.env.XYLEM_LAYER_TIMING) {
      await rx(['status']);
      console.log(`install libvirt (2 packages, downloaded + imported + scripts + deploy): ${t1 - t0} ms; rpm-xylem status (CLI start-up baseline): ${Date.now() - t1} ms`);
    }
    expect(i.status, i.stderr).toBe(0);
    expect(i.stdout).toContain('Added:\n  libvirt-9.0-1.noarch\n  libvirt-libs-9.0-1.noarch\n');
    let [csum, root] = top();
    expect(ost(['show', repoArg, csum, '--print-metadata-key=rpmostree.clientlayer']).trim()).toBe('true');
    expect(ost(['rev-parse', repoArg, `${csum}^`]).trim()).toBe(base);
    expect(ost(['rev-parse', repoArg, 'rpmostree/base/0']).trim()).toBe(base);
    expect(rpmqa(root)).toEqual([...baseRpms, 'libvirt-9.0-1.noarch', 'libvirt-libs-9.0-1.noarch'].sort());
    expect(readFileSync(join(root, 'usr/share/libvirt/post-marker'), 'utf8')).toBe('post 1\n');
    expect(readFileSync(join(root, 'usr/share/libvirt/seen-os-release'), 'utf8')).toBe('NAME=Xylem\nID=xylem\nVERSION_ID=1\n');
    expect(existsSync(join(root, 'usr/share/libvirt/var'))).toBe(false);
    expect(existsSync(join(root, 'usr/share/libvirt/postun-ran'))).toBe(false);
    expect(statSync(join(root, 'usr/share/libvirt/owned')).uid).toBe(107);
    expect(readFileSync(join(root, 'etc/libvirt/libvirtd.conf'), 'utf8')).toBe('listen_tls = 0\n');
    const origin = readFileSync(`${root}.origin`, 'utf8');
    expect(origin).toContain('baserefspec=testos/stable\n');
    expect(origin).toContain('[packages]\nrequested=libvirt;\n');
    checkOracles();

    const st = await rx(['status']);
    expect(st.status, st.stderr).toBe(0);
    expect(st.stdout).toContain(`BaseCommit: ${base}\n`);
    expect(st.stdout).toMatch(/ LayeredPackages: libvirt\n/);
    const js = JSON.parse((await rx(['status', '--json'])).stdout);
    expect(js.deployments[0]['base-checksum']).toBe(base);
    expect(js.deployments[0].packages).toEqual(['libvirt']);
    expect(js.deployments[0]['requested-packages']).toEqual(['libvirt']);

    // idempotence flags
    expect((await rx(['install', 'libvirt'])).stderr).toMatch(/'libvirt' is already requested/);
    const idem = await rx(['install', '--idempotent', 'libvirt']);
    expect(idem.status, idem.stderr).toBe(0);
    expect(idem.stdout).toContain('No changes.');

    // override remove
    const rm = await rx(['override', 'remove', 'docker']);
    expect(rm.status, rm.stderr).toBe(0);
    [csum, root] = top();
    expect(existsSync(join(root, 'usr/bin/docker'))).toBe(false);
    expect(existsSync(join(root, 'usr/share/docker'))).toBe(false);
    expect(rpmqa(root)).not.toContain('docker-1.0-1.noarch');
    expect(readFileSync(`${root}.origin`, 'utf8')).toContain('[overrides]\nremove=docker;\n');
    expect((await rx(['status'])).stdout).toMatch(/ RemovedBasePackages: docker 1\.0-1\n/);
    checkOracles();

    // override replace with a local package
    const rp = await rx(['override', 'replace', './iptables-1.1.rpm']);
    expect(rp.status, rp.stderr).toBe(0);
    [csum, root] = top();
    expect(readFileSync(join(root, 'usr/sbin/iptables'), 'utf8')).toBe('iptables 1.1\n');
    expect(rpmqa(root)).toEqual(['basesh-1.35-1.x86_64', 'filesystem-3.18-1.noarch', 'iptables-1.1-1.noarch', 'liba-1.0-1.noarch', 'libvirt-9.0-1.noarch', 'libvirt-libs-9.0-1.noarch']);
    expect(readFileSync(`${root}.origin`, 'utf8')).toMatch(/replace-local=[0-9a-f]{64}:iptables-1\.1-1\.noarch;\n/);
    const st2 = await rx(['status']);
    expect(st2.stdout).toMatch(/ ReplacedBasePackages: iptables 1\.0-1 -> 1\.1-1\n/);
    expect(JSON.parse((await rx(['status', '--json'])).stdout).deployments[0]['requested-base-local-replacements']).toEqual(['iptables-1.1-1.noarch']);
    checkOracles();

    // hybrid disengaged
    const reset = await rx(['override', 'reset', '--all']);
    expect(reset.status, reset.stderr).toBe(0);
    const un = await rx(['uninstall', 'libvirt']);
    expect(un.status, un.stderr).toBe(0);
    [csum, root] = top();
    expect(csum).toBe(base);
    expect(treeManifest(join(root, 'usr'))).toEqual(baseUsr);
    expect(rpmqa(root)).toEqual(baseRpms);
    expect(existsSync(join(root, 'etc/libvirt'))).toBe(false);
    expect(existsSync(join(root, 'etc/yum.repos.d/test.repo'))).toBe(true);
    const origin2 = readFileSync(`${root}.origin`, 'utf8');
    expect(origin2).toContain('refspec=testos/stable\n');
    expect(origin2).not.toMatch(/baserefspec|\[packages\]|\[overrides\]/);
    expect(varManifest()).toEqual(var0);
    const st3 = await rx(['status']);
    const [first, second] = st3.stdout.split('\n\n');
    expect(first).toContain(`Commit: ${base}`);
    expect(first).not.toMatch(/BaseCommit|LayeredPackages/);
    expect(second).toMatch(/BaseCommit: [0-9a-f]{64}\n/);
    checkOracles();
  }, 600_000);

  it('upgrade re-layers onto a new base in one transaction, downloading nothing already cached', async () => {
    const i = await rx(['install', 'libvirt']);
    expect(i.status, i.stderr).toBe(0);
    const pkgRef = () => ost(['rev-parse', repoArg, 'rpmostree/pkg/libvirt/9.0-1.noarch']).trim();
    const cachedLibvirt = pkgRef();
    const unchanged = await rx(['upgrade']);
    expect(unchanged.status, unchanged.stderr).toBe(0);
    expect(unchanged.stdout).toContain('No upgrade available.');

    // A new base: liba 2.0 instead of 1.0.
    writeFileSync(tmp.join('base2.yaml'), baseTreefile('2.0'));
    const c = await rx(['compose', 'tree', `--repo=${tmp.join('compose')}`, `--cachedir=${tmp.join('cc')}`, 'base2.yaml']);
    expect(c.status, c.stderr).toBe(0);
    const base2 = /testos\/stable => ([0-9a-f]{64})/.exec(c.stdout)![1]!;
    ost([repoArg, 'pull-local', tmp.join('compose'), 'testos/stable']);

    const before = ost(['admin', `--sysroot=${sys}`, 'status']);
    const pv = await rx(['upgrade', '--preview']);
    expect(pv.status, pv.stderr).toBe(0);
    expect(pv.stdout).toContain(`BaseCommit: ${base2}\n`);
    expect(pv.stdout).toContain('Upgraded:\n  liba 1.0-1 -> 2.0-1\n');
    expect(ost(['admin', `--sysroot=${sys}`, 'status'])).toBe(before);

    const rpmsBefore = srv.requests.filter((u) => u.endsWith('.rpm')).length;
    const up = await rx(['upgrade']);
    expect(up.status, up.stderr).toBe(0);
    const [csum, root] = top();
    expect(ost(['rev-parse', repoArg, `${csum}^`]).trim()).toBe(base2);
    expect(rpmqa(root)).toEqual(['basesh-1.35-1.x86_64', 'docker-1.0-1.noarch', 'filesystem-3.18-1.noarch', 'iptables-1.0-1.noarch', 'liba-2.0-1.noarch', 'libvirt-9.0-1.noarch', 'libvirt-libs-9.0-1.noarch']);
    expect(readFileSync(join(root, 'usr/lib/liba.so'), 'utf8')).toBe('liba 2.0\n');
    expect(readFileSync(join(root, 'usr/share/libvirt/post-marker'), 'utf8')).toBe('post 1\n');
    expect(srv.requests.filter((u) => u.endsWith('.rpm')).length).toBe(rpmsBefore);
    expect(pkgRef()).toBe(cachedLibvirt);
    expect(readFileSync(`${root}.origin`, 'utf8')).toContain('baserefspec=testos/stable\n');
    checkOracles();
  }, 600_000);

  it('survives SIGKILL at points of override remove: status works, boot entries name complete deployments, a re-run succeeds', async () => {
    const complete = () => {
      const entries = readdirSync(join(sys, 'boot/loader/entries')).map((f) => readFileSync(join(sys, 'boot/loader/entries', f), 'utf8'));
      for (const e of entries) {
        const m = /ostree=\/ostree\/boot\.\d\/testos\/[0-9a-f]{64}\/\d+/.exec(e)!;
        expect(existsSync(join(sys, m[0].slice('ostree='.length)))).toBe(true);
      }
      ost(['admin', `--sysroot=${sys}`, 'status']);
    };
    let crashed = 0;
    for (const at of [5, 40, 200, 800, 2000, 4000]) {
      const r = await rx(['override', 'remove', 'docker'], { XYLEM_CRASH_AT: String(at) });
      if (r.status !== 137) {
        expect(r.status === 0 || /Override already exists/.test(r.stderr), r.stderr).toBe(true);
        break;
      }
      crashed++;
      const st = await rx(['status']);
      expect(st.status, st.stderr).toBe(0);
      complete();
    }
    expect(crashed).toBeGreaterThan(2);
    const again = await rx(['override', 'remove', '--idempotent', 'docker']);
    expect(again.status, again.stderr).toBe(0);
    const [, root] = top();
    expect(rpmqa(root)).not.toContain('docker-1.0-1.noarch');
    complete();
    checkOracles();
  }, 900_000);

  it('survives SIGKILL at points of uninstall and install: status works, boot entries name complete deployments, a re-run succeeds', async () => {
    const complete = () => {
      for (const f of readdirSync(join(sys, 'boot/loader/entries'))) {
        const m = /ostree=\/ostree\/boot\.\d\/testos\/[0-9a-f]{64}\/\d+/.exec(readFileSync(join(sys, 'boot/loader/entries', f), 'utf8'))!;
        expect(existsSync(join(sys, m[0].slice('ostree='.length))), f).toBe(true);
      }
      ost(['admin', `--sysroot=${sys}`, 'status']);
    };
    // libvirt is layered by the upgrade test above; take it off, then put it back, killing each at several points.
    for (const [verb, done] of [['uninstall', /not currently requested/], ['install', /already requested/]] as const) {
      let crashed = 0;
      for (const at of [5, 60, 250, 1500, 5000]) {
        const r = await rx([verb, 'libvirt'], { XYLEM_CRASH_AT: String(at) });
        if (r.status !== 137) {
          expect(r.status === 0 || done.test(r.stderr), `${verb}: ${r.stderr}`).toBe(true);
          break;
        }
        crashed++;
        const st = await rx(['status']);
        expect(st.status, st.stderr).toBe(0);
        complete();
      }
      expect(crashed, verb).toBeGreaterThan(2);
      const again = await rx([verb, '--idempotent', 'libvirt']);
      expect(again.status, again.stderr).toBe(0);
      const [, root] = top();
      if (verb === 'uninstall') expect(rpmqa(root)).not.toContain('libvirt-9.0-1.noarch');
      else expect(rpmqa(root)).toContain('libvirt-9.0-1.noarch');
      complete();
    }
    checkOracles();
  }, 600_000);

  it('installs a package signed by a key of the deployment from a gpgcheck=1 repo', async () => {
    const r = await rx(['install', 'signedpkg']);
    expect(r.status, r.stderr).toBe(0);
    const [, root] = top();
    expect(rpmqa(root)).toContain('signedpkg-1.0-1.noarch');
    expect(readFileSync(join(root, 'usr/share/signedpkg'), 'utf8')).toBe('signed\n');
    checkOracles();
    // refresh-md fills the stateroot's rpm-md cache, cleanup -m empties it; a relative --sysroot works.
    const cache = join(sys, 'ostree/deploy/testos/var/cache/rpm-ostree');
    const md = await runTs('tools/rpm-xylem/main.ts', ['refresh-md', '--sysroot=sys'], tmp.path);
    expect(md.status, md.stderr).toBe(0);
    expect(md.stdout).toBe('Updated rpm-md repo metadata: fx signed\n');
    expect(readdirSync(join(cache, 'repomd')).sort()).toEqual(['fx', 'signed']);
    const cl = await runTs('tools/rpm-xylem/main.ts', ['cleanup', '-m', '--sysroot=sys'], tmp.path);
    expect(cl.status, cl.stderr).toBe(0);
    expect(existsSync(cache)).toBe(false);
    const un = await runTs('tools/rpm-xylem/main.ts', ['uninstall', 'signedpkg', '--sysroot=sys'], tmp.path);
    expect(un.status, un.stderr).toBe(0);
    expect(rpmqa(top()[1])).not.toContain('signedpkg-1.0-1.noarch');
    checkOracles();
  }, 300_000);

  it('resolves against the base rpm-md snapshot with --base-snapshot, kept in the origin until --no-base-snapshot', async () => {
    // The fx repo moves on after the base was composed: a package that did not exist then.
    const base = ost(['rev-parse', repoArg, 'testos/stable']).trim();
    const recorded = ost(['show', repoArg, base, '--print-metadata-key=rpmostree.rpmmd-repos']);
    const at = Number(/'id': <'fx'>, 'timestamp': <uint64 (\d+)>/.exec(recorded)![1]);
    const late = buildRpm({ name: 'latecomer', version: '1.0', files: [{ path: '/usr/share/latecomer', content: 'late\n' }] }, join(web, 'fx'));
    utimesSync(late, at + 3600, at + 3600);
    execFileSync('createrepo_c', ['--quiet', '--update', join(web, 'fx')]);
    const before = ost(['admin', `--sysroot=${sys}`, 'status']);
    const no = await rx(['install', '--base-snapshot', 'latecomer']);
    expect(no.status, no.stdout).toBe(1);
    expect(no.stderr).toMatch(/nothing provides requested latecomer\nLeft out because they are newer than the base's rpm-md snapshot \(--base-snapshot\): latecomer-1\.0-1\.noarch/);
    expect(ost(['admin', `--sysroot=${sys}`, 'status'])).toBe(before);

    const ok = await rx(['install', '--base-snapshot', 'signedpkg']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("Base rpm-md snapshot: left out 1 package of 'fx' newer than the base's metadata\n");
    expect(ok.stdout).toContain("Base rpm-md snapshot: repo 'signed' is not recorded by the base; used as it is\n");
    let [csum, root] = top();
    expect(readFileSync(`${root}.origin`, 'utf8')).toContain('[xylem]\nrpmmd-snapshot=base\n');
    expect(ost(['show', repoArg, csum, '--print-metadata-key=rpmostree.rpmmd-repos'])).toContain(`'id': <'fx'>, 'timestamp': <uint64 ${at}>`);
    checkOracles();

    // The policy stays with the deployment: a later install is held to the snapshot too.
    const held = await rx(['install', 'latecomer']);
    expect(held.status).toBe(1);
    expect(held.stderr).toContain('latecomer-1.0-1.noarch');
    const free = await rx(['install', '--no-base-snapshot', 'latecomer']);
    expect(free.status, free.stderr).toBe(0);
    [csum, root] = top();
    expect(rpmqa(root)).toContain('latecomer-1.0-1.noarch');
    expect(readFileSync(`${root}.origin`, 'utf8')).not.toContain('[xylem]');
    checkOracles();
  }, 300_000);
});
