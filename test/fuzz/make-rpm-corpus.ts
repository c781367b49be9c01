// Regenerates the package half's fuzzing seed corpus under fixtures/fuzz/ from artefacts the REAL
// tools make: packages built by rpmbuild (every payload compressor Debian's rpm writes, MD5 and
// SHA-256 file digests, scripts, triggers, hardlinks, symlinks, dependencies of every kind, one
// signed by rpmsign) → fixtures/fuzz/rpm/ (whole .rpm files) and fixtures/fuzz/rpm-header/ (their
// main headers alone); their payloads as rpm2cpio writes them → fixtures/fuzz/cpio/; a repository's
// metadata as createrepo_c and modifyrepo_c write it (repomd, primary, filelists, other,
// updateinfo) → fixtures/fuzz/rpmmd/ (the extension names the reader); dnf's own configuration
// files as Debian's dnf package installs them, plus .repo files in dnf's syntax →
// fixtures/fuzz/repo-file/; treefiles in rpm-ostree's syntax (YAML and JSON) → fixtures/fuzz/treefile/.
// Usage: npx tsx test/fuzz/make-rpm-corpus.ts   (needs rpmbuild, rpmsign, gpg, rpm2cpio, createrepo_c, modifyrepo_c)

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ROOT } from '../helpers/interop.ts';
import { buildRpm, makeSigningKey, signRpm, type FixturePackage } from '../helpers/rpmbuild.ts';
import { UPDATEINFO_XML } from '../rpmmd/fixtures.ts';
import { parseRpm } from '../../src/rpm/open.ts';

const OUT = join(ROOT, 'fixtures/fuzz');
const short = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 12);

function put(target: string, name: string, data: Uint8Array | string): void {
  mkdirSync(join(OUT, target), { recursive: true });
  writeFileSync(join(OUT, target, name), data);
}

const PACKAGES: FixturePackage[] = [
  {
    name: 'alpha',
    version: '1.2',
    release: '3',
    epoch: 2,
    requires: ['beta >= 1.0', '(gamma or delta)', '/bin/sh'],
    provides: ['webserver', 'alpha-libs = 1.2'],
    conflicts: ['omega < 2'],
    obsoletes: ['alpha-old'],
    recommends: ['extra'],
    files: [
      { path: '/usr/bin/alpha', content: '#!/bin/sh\necho alpha\n', mode: 0o755 },
      { path: '/usr/bin/alpha-link', type: 'symlink', target: 'alpha' },
      { path: '/usr/share/alpha/data', content: 'data '.repeat(40) },
      { path: '/usr/share/alpha/hard', type: 'hardlink', target: '/usr/share/alpha/data' },
      { path: '/etc/alpha.conf', content: 'key=value\n', attr: '%config(noreplace)' },
      { path: '/usr/share/alpha/empty', type: 'dir' },
    ],
    scripts: { pre: 'echo pre', post: 'echo post', 'triggerin -- beta': 'echo trigger', 'filetriggerin -- /usr/lib': 'echo ft' },
  },
  { name: 'beta', version: '1.0', payload: 'w6.xzdio', files: [{ path: '/usr/lib/beta.so', content: 'not really an ELF\n' }] },
  { name: 'gamma', version: '0.1', payload: 'w19.zstdio', files: [{ path: '/opt/gamma/é-name', content: 'utf-8 name\n', user: 'nobody', group: 'nogroup' }] },
  { name: 'delta', version: '4', payload: 'w9.bzdio', files: [{ path: '/usr/share/delta', content: 'bzip2\n' }], scripts: { 'post -p <lua>': 'print("lua")' } },
  { name: 'epsilon', version: '5', payload: 'w0.ufdio', files: [{ path: '/usr/share/eps', content: 'stored\n' }, { path: '/var/ghost', attr: '%ghost' }] },
  { name: 'zeta', version: '6', macros: { _binary_filedigest_algorithm: '1' }, files: [{ path: '/usr/share/zeta', content: 'md5 digests\n' }] },
  { name: 'eta', version: '7', payload: 'w2.lzdio', files: [{ path: '/usr/share/eta', content: 'lzma\n' }] },
];

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'xylem-rpm-corpus-'));
  try {
    for (const t of ['rpm', 'rpm-header', 'cpio', 'rpmmd', 'repo-file', 'treefile']) rmSync(join(OUT, t), { recursive: true, force: true });
    const repo = join(tmp, 'repo');
    mkdirSync(repo);
    const rpms: string[] = [];
    for (const p of PACKAGES) {
      try {
        rpms.push(buildRpm(p, repo));
      } catch (e) {
        process.stderr.write(`skipped ${p.name} (${p.payload ?? 'default payload'}): ${(e as Error).message.split('\n')[0]}\n`);
      }
    }
    const key = makeSigningKey();
    signRpm(rpms[0]!, key);
    for (const f of rpms) {
      const b = new Uint8Array(readFileSync(f));
      put('rpm', `${short(b)}.rpm`, b);
      const pkg = parseRpm(b, f);
      put('rpm-header', `${short(pkg.headerBytes)}.header`, pkg.headerBytes);
      put('rpm-header', `${short(pkg.signature.bytes)}.sigheader`, pkg.signature.bytes);
      const cpio = execFileSync('rpm2cpio', [f], { maxBuffer: 16 << 20 });
      put('cpio', `${short(cpio)}.cpio`, cpio);
    }
    execFileSync('createrepo_c', ['--quiet', repo], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ui = join(tmp, 'updateinfo.xml');
    writeFileSync(ui, UPDATEINFO_XML);
    execFileSync('modifyrepo_c', ['--mdtype=updateinfo', ui, join(repo, 'repodata')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const rd = join(repo, 'repodata');
    for (const f of readdirSync(rd)) {
      const m = /-(primary|filelists|other|updateinfo)\.xml\.gz$/.exec(f) ?? /^(repomd)\.xml$/.exec(f);
      if (!m) continue;
      const raw = readFileSync(join(rd, f));
      const xml = f.endsWith('.gz') ? gunzipSync(raw) : raw;
      put('rpmmd', `${short(xml)}.${m[1]}`, xml);
    }
    // dnf's configuration files (the same INI dialect as .repo files), as Debian's dnf installs them
    for (const f of ['/etc/dnf/dnf.conf', '/etc/dnf/automatic.conf']) if (existsSync(f)) put('repo-file', `${f.split('/').pop()}`, readFileSync(f));
    put(
      'repo-file',
      'fedora.repo',
      '[fedora]\nname=Fedora $releasever - $basearch\n#baseurl=http://download.example/pub/fedora/linux/releases/$releasever/Everything/$basearch/os/\n' +
        'metalink=https://mirrors.fedoraproject.org/metalink?repo=fedora-$releasever&arch=$basearch\nenabled=1\ncountme=1\nmetadata_expire=7d\n' +
        'repo_gpgcheck=0\ntype=rpm\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch\nskip_if_unavailable=False\n\n' +
        '[fedora-debuginfo]\nname=Fedora $releasever - $basearch - Debug\nbaseurl=https://a.invalid/$basearch/ https://b.invalid/${basearch}/debug\nenabled=0\n' +
        'exclude=kernel* , glibc\n  continued-line\n; a comment\npriority=10\ncost=500\nmetadata_expire=-1\n',
    );
    put('repo-file', 'local.repo', '[local]\nbaseurl=file:///srv/repo\ngpgcheck=false\nexcludepkgs=foo bar\nincludepkgs=baz\nmodule_hotfixes=on\nmetadata_expire=never\nsslverify=no\n');
    // treefiles in rpm-ostree's syntax (docs/treefile.md): YAML with variables and includes, and JSON
    put(
      'treefile',
      'base.yaml',
      'ref: fedora/${releasever}/${basearch}/${flavor}\nreleasever: 40\nvariables:\n  flavor: base\nrepos: [fedora, updates]\n' +
        'packages:\n  - bash coreutils\n  - kernel\npackages-x86_64: [grub2]\nselinux: true\nboot-location: modules\ntmp-is-dir: true\n' +
        'automatic-version-prefix: "40"\nautomatic-version-suffix: "."\nadd-commit-metadata:\n  foo: bar\n  n: 3\n' +
        'remove-files: [usr/share/doc]\nremove-from-packages:\n  - [bash, "/usr/share/info/.*"]\nunits: [sshd.service]\n' +
        'default-target: multi-user.target\ninitramfs-args: [--no-hostonly]\netc-group-members: [wheel]\nrecommends: false\n' +
        'postprocess:\n  - |\n    #!/bin/sh\n    echo hi\nmutate-os-release: "40"\nreadonly-executables: true\ndocs: false\n',
    );
    put('treefile', 'include.yaml', 'include: base.yaml\nref: custom/${basearch}\npackages: [vim-minimal]\nexclude-packages: [nano]\nselinux: false\n');
    put(
      'treefile',
      'json.json',
      JSON.stringify({ ref: 'json/ref', packages: ['a', 'b c'], repos: ['r'], 'boot-location': 'new', 'machineid-compat': false, 'check-passwd': { type: 'none' }, 'ignore-removed-users': ['x'], 'container-cmd': ['/bin/sh'] }, null, 2),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
