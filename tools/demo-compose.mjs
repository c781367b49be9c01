// The demo's second half (called by tools/demo.mjs): a composed OS, the way rpm-ostree makes one.
// Real Debian binaries repackaged as RPMs plus small test packages (tools/pkgset/build.ts, cached
// on the machine) are served as rpm-md repositories on 127.0.0.1; `rpm-xylem compose tree` turns a
// treefile into a signed commit of the demo repository, which is deployed into the demo's
// throw-away sysroot; then ONE package gets a new release, the re-compose imports only that
// package, `rpm-xylem db diff` shows the change, the sysroot upgrades to it and Debian's rpm reads
// the deployment's rpm database. Without root (deployments need it) the sysroot part is replaced
// by a checkout.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const REF = 'demo/x86_64/os';

function step(title) {
  process.stdout.write(`\n== ${title}\n`);
}

/**
 * ctx: { root, work, repo, sign: [--gpg-sign=…, --gpg-homedir=…], x(...args) running xylem and
 * printing, sysroot (null without root) }.
 */
export async function composedOs(ctx) {
  const { root, work, repo, sign, x } = ctx;
  const rpmXylemCli = join(root, 'dist', 'rpm-xylem', 'rpm-xylem.mjs');
  const rx = (...args) => {
    process.stdout.write(`$ rpm-xylem ${args.join(' ')}\n`);
    const out = execFileSync(process.execPath, [rpmXylemCli, ...args], { encoding: 'utf8', cwd: work });
    process.stdout.write(out);
    return out;
  };

  step('A package set: real Debian binaries repackaged as RPMs (tools/pkgset, cached)');
  const t0 = Date.now();
  const setDir = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'tools/pkgset/build.ts')], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const manifest = JSON.parse(readFileSync(join(setDir, 'manifest.json'), 'utf8'));
  process.stdout.write(`${setDir} (${((Date.now() - t0) / 1000).toFixed(1)} s): ${manifest.packages.length} packages, ${manifest.debs.length} of them from Debian; v2 bumps ${manifest.bumped.from} → ${manifest.bumped.to}\n`);

  step('Serve the rpm-md repositories on 127.0.0.1');
  const portFile = join(work, 'rpmmd-port');
  const httpd = spawn(process.execPath, [join(root, 'dist', 'xylem.mjs'), 'trivial-httpd', '-p', portFile, setDir], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
    const url = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
    process.stdout.write(`serving ${setDir} at ${url}\n`);
    const repoFile = join(work, 'pkgset.repo');
    const useRepo = (v) => writeFileSync(repoFile, `[pkgset]\nname=Xylem demo package set (${v})\nbaseurl=${url}/${v}/\ngpgcheck=0\nmetadata_expire=0\n`);
    useRepo('v1');
    const treefile = join(work, 'demo-os.yaml');
    writeFileSync(treefile, `ref: ${REF}\nrepos: [pkgset]\npackages: [demo-release]\nunits: [hello.service]\nselinux: false\nautomatic-version-prefix: "1"\n# the stand-in kernel ships its initramfs and the set has no dracut\nno-initramfs: true\n`);
    process.stdout.write(`${readFileSync(treefile, 'utf8')}`);
    const cache = `--cachedir=${join(work, 'compose-cache')}`;

    step('Compose the OS: rpm-xylem compose tree (packages imported once, assembled, %post run, rpmdb written)');
    const composeOut = rx('compose', 'tree', `--repo=${repo}`, cache, treefile);
    const c1 = /=> ([0-9a-f]{64})\n$/.exec(composeOut)?.[1];
    if (!c1) throw new Error('compose tree printed no commit');
    x('gpg-sign', `--repo=${repo}`, c1, ...signArgs(sign));
    x('summary', `--repo=${repo}`, '-u', ...sign);
    x('show', `--repo=${repo}`, '--print-metadata-key=rpmostree.rpmdb.pkglist', REF);
    const motd = execFileSync(process.execPath, [join(root, 'dist', 'xylem.mjs'), 'cat', `--repo=${repo}`, REF, '/usr/share/demo-motd/motd'], { encoding: 'utf8' });
    process.stdout.write(`usr/share/demo-motd/motd (written by %post):\n${motd}`);

    const sysroot = ctx.sysroot;
    let deployDir = null;
    if (sysroot) {
      step('Deploy the composed OS into the sysroot (pulled over HTTP, signature verified)');
      x('pull', `--repo=${sysroot}/ostree/repo`, 'origin', REF);
      x('admin', `--sysroot=${sysroot}`, 'deploy', '--os=demo', `origin:${REF}`);
      x('admin', `--sysroot=${sysroot}`, 'status');
      deployDir = join(sysroot, 'ostree/deploy/demo/deploy');
      checkRpmdb(join(deployDir, deploymentOf(deployDir, c1)), manifest, manifest.bumped.from);
    }

    step(`A new release of ${manifest.bumped.name}; re-compose: only that package is imported`);
    useRepo('v2');
    const recompose = rx('compose', 'tree', `--repo=${repo}`, cache, treefile);
    if (!recompose.includes('Importing packages (1)...')) throw new Error('the re-compose did not import exactly one package');
    const c2 = /=> ([0-9a-f]{64})\n$/.exec(recompose)?.[1];
    if (!c2 || c2 === c1) throw new Error('the re-compose made no new commit');
    x('gpg-sign', `--repo=${repo}`, c2, ...signArgs(sign));
    x('summary', `--repo=${repo}`, '-u', ...sign);
    const diff = rx('db', 'diff', `--repo=${repo}`, c1, c2);
    if (!diff.includes(`Upgraded:\n  ${manifest.bumped.name} `)) throw new Error(`db diff does not show ${manifest.bumped.name} upgraded`);

    if (sysroot) {
      step('Upgrade the sysroot to the re-composed OS; Debian\'s rpm reads the new deployment\'s rpmdb');
      x('admin', `--sysroot=${sysroot}`, 'upgrade', '--os=demo');
      x('admin', `--sysroot=${sysroot}`, 'status');
      checkRpmdb(join(deployDir, deploymentOf(deployDir, c2)), manifest, manifest.bumped.to);
    } else {
      step('Check out the re-composed OS; Debian\'s rpm reads its rpmdb');
      const co = join(work, 'os-checkout');
      x('checkout', `--repo=${repo}`, '-U', c2, co);
      checkRpmdb(co, manifest, manifest.bumped.to);
    }
  } finally {
    httpd.kill();
  }
}

/** --gpg-sign=FPR --gpg-homedir=DIR → gpg-sign's KEY-ID argument and --gpg-homedir. */
function signArgs(sign) {
  const key = sign.find((a) => a.startsWith('--gpg-sign=')).slice('--gpg-sign='.length);
  return [key, ...sign.filter((a) => a.startsWith('--gpg-homedir='))];
}

function deploymentOf(deployDir, commit) {
  const d = readdirSync(deployDir).find((n) => n.startsWith(`${commit}.`) && !n.endsWith('.origin'));
  if (!d) throw new Error(`no deployment of ${commit}`);
  return d;
}

/** `rpm -qa --dbpath=TREE/usr/share/rpm` must list exactly the set, with the bumped package's expected file name. */
function checkRpmdb(tree, manifest, bumpedRpm) {
  const dbpath = join(tree, 'usr/share/rpm');
  process.stdout.write(`$ rpm -qa --dbpath=${dbpath} --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n' | sort\n`);
  let out;
  try {
    out = execFileSync('rpm', ['-qa', `--dbpath=${dbpath}`, '--qf', '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (e.code === 'ENOENT') {
      process.stdout.write('(rpm is not installed: skipped)\n');
      return;
    }
    throw e;
  }
  const listed = out.trim().split('\n').sort();
  process.stdout.write(`${listed.join('\n')}\n`);
  const names = listed.map((l) => l.replace(/-[^-]+-[^-]+$/, '')).sort();
  if (JSON.stringify(names) !== JSON.stringify([...manifest.packages].sort())) throw new Error(`rpm -qa lists ${names.join(' ')}; expected ${manifest.packages.join(' ')}`);
  const want = bumpedRpm.replace(/\.rpm$/, '');
  if (!listed.includes(want)) throw new Error(`rpm -qa does not list ${want}`);
  process.stdout.write(`(rpm -qa: the ${listed.length} composed packages, ${want} among them)\n`);
}
