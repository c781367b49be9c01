// Fixture rpm-md repositories for the rpmmd tests: a set of packages covering every dependency
// kind, epochs, rich deps, file deps, config/dir/ghost files, several versions of one package and
// multi-entry changelogs, built with rpmbuild + createrepo_c; plus helpers that re-compress a
// repo's metadata (xz, zstd, bzip2) with the CLI tools and rewrite repomd.xml to match, and that
// add an updateinfo.xml with modifyrepo_c.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRepo, type FixturePackage } from '../helpers/rpmbuild.ts';

export const FIXTURE_PACKAGES: FixturePackage[] = [
  {
    name: 'alpha',
    version: '1.2',
    release: '3.fc40',
    epoch: 2,
    summary: 'alpha <&> "quoted" é 日本',
    requires: ['beta >= 1.0', 'zeta >= 0:1.0', 'libgamma.so.1()(64bit)', '(delta or epsilon)', '/usr/bin/beta-tool', 'omega < 3', 'kappa = 1.0-1', 'lambda <= 2:4'],
    provides: ['alpha-api = 5', 'webserver', 'alpha(compat) > 1'],
    conflicts: ['old-alpha < 1.0'],
    obsoletes: ['alpha-legacy <= 1.1'],
    recommends: ['beta-docs'],
    suggests: ['(alpha-extras if beta)'],
    supplements: ['(beta and gamma)'],
    enhances: ['gamma'],
    files: [
      { path: '/usr/bin/alpha', content: '#!/bin/sh\necho alpha\n', mode: 0o755 },
      { path: '/etc/alpha/alpha.conf', content: 'k=v\n', attr: '%config(noreplace)' },
      { path: '/usr/share/alpha', type: 'dir' },
      { path: '/usr/share/alpha/data.txt', content: 'data\n' },
      { path: '/var/log/alpha.log', attr: '%ghost' },
      { path: '/usr/lib/sendmail', content: 'x' },
    ],
    scripts: { pre: 'exit 0', post: 'exit 0' },
    changelog: [
      { date: 'Mon Dec 07 2026', author: 'Ann Author <ann@xylem.invalid>', text: '- third <change> & more' },
      { date: 'Sun Dec 06 2026', author: 'Bob Builder <bob@xylem.invalid>', text: '- second change\n- with two lines' },
      { date: 'Tue Jan 06 2026', author: 'Ann Author <ann@xylem.invalid>', text: '- first change' },
    ],
  },
  { name: 'beta', version: '1.0', release: '1', arch: 'x86_64', files: [{ path: '/usr/bin/beta-tool', content: 'b' }, { path: '/usr/lib/beta', type: 'dir' }] },
  { name: 'beta', version: '2.0', release: '1', arch: 'x86_64', provides: ['libgamma.so.1()(64bit)'], files: [{ path: '/usr/bin/beta-tool', content: 'b2' }] },
  { name: 'gamma', version: '0.9~rc1', release: '1', provides: ['zeta = 1:1.0'], files: [{ path: '/opt/gamma/readme', content: 'r' }] },
  { name: 'delta', version: '1.0^git20260101', release: '2', conflicts: ['epsilon'] },
];

/** Builds the fixture repo (gzip metadata, createrepo_c's default) into `dir`. */
export function buildFixtureRepo(dir: string, extraArgs: string[] = []): string {
  return buildRepo(FIXTURE_PACKAGES, dir, extraArgs);
}

/** Copies a repo folder. */
export function copyRepo(from: string, to: string): string {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true, preserveTimestamps: true });
  return to;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Re-compresses the primary, filelists and other files of `repo` with `tool` (xz, zstd, bzip2)
 * and rewrites repomd.xml (location, checksum, size) to match; open-checksum stays.
 */
export function recompressRepo(repo: string, tool: 'xz' | 'zstd' | 'bzip2'): void {
  const ext = { xz: 'xz', zstd: 'zst', bzip2: 'bz2' }[tool];
  const repomdPath = join(repo, 'repodata', 'repomd.xml');
  let repomd = readFileSync(repomdPath, 'utf8');
  for (const type of ['primary', 'filelists', 'other']) {
    const block = new RegExp(`<data type="${type}">[\\s\\S]*?</data>`).exec(repomd)![0];
    const href = /<location href="([^"]+)"/.exec(block)![1]!;
    const oldPath = join(repo, href);
    const xml = execFileSync('gzip', ['-dc', oldPath]);
    const packed = execFileSync(tool, ['-c', '-q'], { input: xml, maxBuffer: 1 << 30 });
    const sum = sha256(packed);
    const newHref = `repodata/${sum}-${type}.xml.${ext}`;
    writeFileSync(join(repo, newHref), packed);
    unlinkSync(oldPath);
    const newBlock = block
      .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${sum}</checksum>`)
      .replace(/<location href="[^"]+"/, `<location href="${newHref}"`)
      .replace(/<size>\d+<\/size>/, `<size>${packed.length}</size>`);
    repomd = repomd.replace(block, newBlock);
  }
  writeFileSync(repomdPath, repomd);
}

/** An updateinfo.xml covering two advisories (one with a module, references and reboot flags). */
export const UPDATEINFO_XML = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@xylem.invalid" status="stable" type="security" version="2.0">
    <id>XYLEM-2026-0001</id>
    <title>alpha security update</title>
    <issued date="2026-12-01 10:00:00"/>
    <updated date="2026-12-02 11:00:00"/>
    <rights>Copyright 2026 Xylem</rights>
    <release>Xylem 1</release>
    <pushcount>3</pushcount>
    <severity>Important</severity>
    <summary>Fixes CVE-2026-0001 &amp; friends</summary>
    <description>A long description
with two lines.</description>
    <solution>Update alpha.</solution>
    <reboot_suggested>True</reboot_suggested>
    <references>
      <reference href="https://bugzilla.invalid/1" id="1" type="bugzilla" title="alpha crashes"/>
      <reference href="https://cve.invalid/CVE-2026-0001" id="CVE-2026-0001" type="cve" title="CVE-2026-0001"/>
    </references>
    <pkglist>
      <collection short="xylem-1">
        <name>Xylem 1</name>
        <package name="alpha" version="1.2" release="3.fc40" epoch="2" arch="noarch" src="alpha-1.2-3.fc40.src.rpm">
          <filename>alpha-1.2-3.fc40.noarch.rpm</filename>
          <sum type="sha256">0000000000000000000000000000000000000000000000000000000000000001</sum>
          <reboot_suggested>True</reboot_suggested>
        </package>
      </collection>
    </pkglist>
  </update>
  <update from="bugs@xylem.invalid" status="testing" type="bugfix" version="1.0">
    <id>XYLEM-2026-0002</id>
    <title>beta bug fix</title>
    <issued date="1796000000"/>
    <severity>Low</severity>
    <summary>beta 2.0</summary>
    <description>beta update</description>
    <pkglist>
      <collection short="mod">
        <name>beta module</name>
        <module name="beta" stream="2" version="20261201" context="abcd" arch="x86_64"/>
        <package name="beta" version="2.0" release="1" epoch="0" arch="x86_64">
          <filename>beta-2.0-1.x86_64.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
`;

/** Adds UPDATEINFO_XML to `repo` with modifyrepo_c. */
export function addUpdateinfo(repo: string, tmp: string): void {
  const f = join(tmp, 'updateinfo.xml');
  writeFileSync(f, UPDATEINFO_XML);
  execFileSync('modifyrepo_c', ['--mdtype=updateinfo', f, join(repo, 'repodata')], { stdio: ['ignore', 'ignore', 'pipe'] });
}
