// The demo package set's Debian → RPM conversion (tools/pkgset): version mapping, dependency
// selection and %files escaping as pure functions, then the whole path on a .deb the test builds
// with dpkg-deb (tricky names: `[`, `*`, `%`, a /bin file, a /lib symlink, an /etc file, a manual
// that is dropped, an empty directory) — Debian's rpm reads the result (the oracle). A file in
// both /bin and /usr/bin is refused, naming the package.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { hasCommand, HAVE_RPMBUILD } from '../helpers/rpmbuild.ts';
import { debVersionToRpm, depsInSet, filesLine, parseControl, PkgsetError, usrMergedPath } from '../../tools/pkgset/deb-spec.ts';
import { convertDeb } from '../../tools/pkgset/build.ts';

describe('deb-spec: the pure mapping', () => {
  it('maps Debian versions to rpm EVRs and refuses what rpm cannot hold', () => {
    expect(debVersionToRpm('1:2.5.1-4', 'libattr1')).toEqual({ epoch: 1, version: '2.5.1', release: '4' });
    expect(debVersionToRpm('1.34+dfsg-1.2+deb12u1', 'tar')).toEqual({ epoch: null, version: '1.34+dfsg', release: '1.2+deb12u1' });
    expect(debVersionToRpm('12.4+deb12u15', 'base-files')).toEqual({ epoch: null, version: '12.4+deb12u15', release: '0' });
    expect(debVersionToRpm('2:6.2.1+dfsg1-1.1', 'libgmp10')).toEqual({ epoch: 2, version: '6.2.1+dfsg1', release: '1.1' });
    expect(debVersionToRpm('1.0~rc1-2', 'x')).toEqual({ epoch: null, version: '1.0~rc1', release: '2' });
    expect(() => debVersionToRpm('1.0-rc1-2', 'gcc-x')).toThrow(/gcc-x: upstream version "1.0-rc1" has characters rpm refuses/);
    expect(() => debVersionToRpm('2:1:0-1', 'odd')).toThrow(PkgsetError);
  });

  it('parses control data and refuses broken stanzas', () => {
    const c = parseControl('Package: sed\nVersion: 4.9-1\nArchitecture: amd64\nPre-Depends: libacl1 (>= 2.2.23), libc6 (>= 2.34)\nDescription: GNU stream editor\n sed reads the specified files\n .\n more\n', 'sed.deb');
    expect(c).toMatchObject({ package: 'sed', version: '4.9-1', architecture: 'amd64', depends: '', preDepends: 'libacl1 (>= 2.2.23), libc6 (>= 2.34)' });
    expect(c.description).toBe('GNU stream editor\nsed reads the specified files\n.\nmore');
    expect(() => parseControl(' continuation\nPackage: x\n', 'x.deb')).toThrow(/x\.deb: control data starts with a continuation line/);
    expect(() => parseControl('Package: x\nArchitecture: all\n', 'x.deb')).toThrow(/x\.deb: control field version is missing/);
    expect(() => parseControl('Package: ../x\nVersion: 1\nArchitecture: all\n', 'x.deb')).toThrow(/bad package name/);
  });

  it('keeps the dependencies on packages of the set (first alternative in the set)', () => {
    const set = new Set(['libc6', 'libacl1', 'dash', 'bash']);
    expect(depsInSet('libacl1 (>= 2.2.23), libc6:any (>= 2.34), debianutils (>= 5.6-0.1)', set)).toEqual(['libacl1', 'libc6']);
    expect(depsInSet('mksh | bash | dash, libc6', set)).toEqual(['bash', 'libc6']);
    expect(depsInSet('', set)).toEqual([]);
  });

  it('merges /usr and escapes %files lines', () => {
    expect(usrMergedPath('bin/ls')).toBe('usr/bin/ls');
    expect(usrMergedPath('lib64/ld-linux-x86-64.so.2')).toBe('usr/lib64/ld-linux-x86-64.so.2');
    expect(usrMergedPath('library/x')).toBe('library/x');
    expect(usrMergedPath('usr/lib/x')).toBe('usr/lib/x');
    expect(filesLine({ path: 'usr/bin/[', kind: 'file' }, 'coreutils')).toBe('/usr/bin/[[]');
    expect(filesLine({ path: 'usr/share/a%b*c', kind: 'file' }, 'p')).toBe('/usr/share/a%%b[*]c');
    expect(filesLine({ path: 'etc/x.conf', kind: 'file' }, 'p')).toBe('%config(noreplace) /etc/x.conf');
    expect(filesLine({ path: 'etc/alt', kind: 'symlink' }, 'p')).toBe('/etc/alt');
    expect(filesLine({ path: 'usr/share/doc/p/copyright', kind: 'file' }, 'p')).toBe('%doc /usr/share/doc/p/copyright');
    expect(filesLine({ path: 'var/lib/p', kind: 'dir' }, 'p')).toBe('%dir /var/lib/p');
    expect(() => filesLine({ path: 'usr/../etc/shadow', kind: 'file' }, 'evil')).toThrow(/evil: path "usr\/\.\.\/etc\/shadow" escapes the package root/);
    expect(() => filesLine({ path: 'usr/share/a b', kind: 'file' }, 'p')).toThrow(/cannot be listed in a spec file/);
    expect(() => filesLine({ path: 'usr/share/a"b', kind: 'file' }, 'p')).toThrow(/cannot be listed/);
  });
});

const NEED = { 'dpkg-deb': hasCommand('dpkg-deb'), rpmbuild: HAVE_RPMBUILD, rpm: hasCommand('rpm') };

describe.skipIf(missing('pkgset deb → rpm conversion', NEED))('convertDeb: a .deb built by dpkg-deb, read back by rpm', () => {
  const tmp = new TempDir('xylem-pkgset-');
  afterAll(() => tmp.cleanup());

  /** Builds a .deb from `files` (path → content | {link}) with dpkg-deb; returns its path. */
  function makeDeb(name: string, version: string, files: Record<string, string | { link: string } | { dir: true }>, depends = ''): string {
    const root = tmp.join(`src-${name}`);
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    writeFileSync(join(root, 'DEBIAN/control'), `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: Tests <t@xylem.invalid>\n${depends ? `Depends: ${depends}\n` : ''}Description: a test package\n made by the pkgset test\n`);
    for (const [p, v] of Object.entries(files)) {
      const abs = join(root, p);
      mkdirSync(typeof v === 'object' && 'dir' in v ? abs : join(abs, '..'), { recursive: true });
      if (typeof v === 'string') {
        writeFileSync(abs, v);
        if (p.includes('bin/')) chmodSync(abs, 0o755);
      } else if ('link' in v) symlinkSync(v.link, abs);
    }
    const deb = tmp.join(`${name}_${version}_amd64.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '--build', root, deb], { stdio: 'ignore' });
    return deb;
  }
  const rpmq = (rpm: string, ...args: string[]) => execFileSync('rpm', ['-qp', ...args, rpm], { encoding: 'utf8' });

  it('packs every file under a merged /usr, with Debian\'s version, deps in the set and old /bin paths as Provides', () => {
    const deb = makeDeb(
      'tricky',
      '1:2.0+dfsg-3+deb12u1',
      {
        'bin/tool': '#!/bin/sh\necho tool\n',
        'usr/bin/[': '#!/bin/sh\necho bracket\n',
        'usr/share/tricky/a%b*c': 'percent and star\n',
        'lib/x86_64-linux-gnu/libtricky.so.1': { link: 'libtricky.so.1.0' },
        'lib/x86_64-linux-gnu/libtricky.so.1.0': 'not really ELF\n',
        'etc/tricky.conf': 'key=value\n',
        'usr/share/man/man1/tool.1': '.TH tool\n',
        'usr/share/doc/tricky/copyright': 'MIT\n',
        'var/lib/tricky': { dir: true },
      },
      'libc6 (>= 2.34), mksh | bash, notinset',
    );
    const out = tmp.join('rpms');
    mkdirSync(out);
    const r = convertDeb(deb, tmp.join('work'), out, new Set(['libc6', 'bash', 'tricky']));
    expect(r.name).toBe('tricky');
    expect(rpmq(r.rpm, '--qf', '%{EPOCH}:%{VERSION}-%{RELEASE}.%{ARCH}')).toBe('1:2.0+dfsg-3+deb12u1.x86_64');
    expect(rpmq(r.rpm, '-l').trim().split('\n').sort()).toEqual(
      ['/etc/tricky.conf', '/usr/bin/[', '/usr/bin/tool', '/usr/lib/x86_64-linux-gnu/libtricky.so.1', '/usr/lib/x86_64-linux-gnu/libtricky.so.1.0', '/usr/share/doc/tricky/copyright', '/usr/share/tricky/a%b*c', '/var/lib/tricky'].sort(),
    );
    expect(rpmq(r.rpm, '-c').trim()).toBe('/etc/tricky.conf');
    expect(rpmq(r.rpm, '-d').trim()).toBe('/usr/share/doc/tricky/copyright');
    const requires = rpmq(r.rpm, '--requires').split('\n');
    expect(requires).toContain('libc6');
    expect(requires).toContain('bash');
    expect(requires.some((l) => l.startsWith('notinset') || l.startsWith('mksh'))).toBe(false);
    expect(rpmq(r.rpm, '--provides').split('\n')).toContain('/bin/tool');
    expect(rpmq(r.rpm, '--qf', '[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}\n]')).toContain('/usr/bin/tool -rwxr-xr-x root');
  });

  it('refuses a package with the same file in /bin and /usr/bin', () => {
    const deb = makeDeb('twice', '1.0-1', { 'bin/x': 'a\n', 'usr/bin/x': 'b\n' });
    expect(() => convertDeb(deb, tmp.join('work2'), tmp.path, new Set(['twice']))).toThrow(/twice: \/bin\/x and \/usr\/bin\/x are both in the package/);
  });
});
