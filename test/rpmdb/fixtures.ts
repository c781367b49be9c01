// The package set the rpmdb tests install: files of every kind (dirs, symlinks, %config, %ghost,
// %doc), versioned, rich and weak dependencies, scriptlets, triggers (one name twice), file and
// transaction file triggers, an epoch, an x86_64 package, a relocatable one, a package without
// files, and a package signed with rpmsign. Built with rpmbuild; rpm itself then writes the
// reference db with `--justdb`.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRpm, makeSigningKey, rpmJustdbInstall, signRpm } from '../helpers/rpmbuild.ts';
import type { FixturePackage } from '../helpers/rpmbuild.ts';

export const PACKAGES: FixturePackage[] = [
  {
    name: 'alpha',
    version: '1.2',
    release: '3',
    epoch: 2,
    requires: ['(beta or gamma)', 'beta >= 1.0', 'libbeta.so', 'rpmlib(RichDependencies) <= 4.12.0-1'],
    provides: ['alphaprov = 5', 'alpha-virtual'],
    recommends: ['gamma', '(gamma if beta)'],
    suggests: ['(delta if beta else epsilon)'],
    supplements: ['(beta and (gamma or delta))'],
    enhances: ['gamma'],
    conflicts: ['omega < 2', '(zeta unless eta)'],
    obsoletes: ['oldalpha < 1.0'],
    files: [
      { path: '/usr/bin/alpha', content: '#!/bin/sh\necho alpha\n', mode: 0o755 },
      { path: '/etc/alpha.conf', content: 'x=1\n', attr: '%config(noreplace)' },
      { path: '/usr/share/alpha', type: 'dir' },
      { path: '/usr/share/alpha/link', type: 'symlink', target: '../x' },
      { path: '/usr/share/alpha/data.txt', content: 'data\n' },
      { path: '/usr/share/doc/alpha/README', content: 'readme\n', attr: '%doc' },
      { path: '/var/log/alpha.log', attr: '%ghost' },
    ],
    scripts: {
      pre: 'echo pre',
      post: 'echo post',
      posttrans: 'echo posttrans',
      'triggerin -- beta': 'echo trig in',
      'triggerun -- beta': 'echo trig un',
      'triggerin -- gamma': 'echo trig gamma',
      'filetriggerin -- /usr/lib': 'cat',
      'filetriggerun -- /usr/share/alpha': 'cat',
      'transfiletriggerin -- /usr/share': 'cat',
    },
  },
  {
    name: 'beta',
    version: '1.0',
    arch: 'x86_64',
    provides: ['libbeta.so'],
    files: [
      { path: '/usr/lib/libbeta.so', content: 'lib' },
      { path: '/usr/lib/beta/helper', content: 'helper', mode: 0o750 },
    ],
  },
  {
    name: 'gamma',
    version: '2.0~rc1',
    release: '0.1',
    requires: ['(alpha >= 2:1.0 with alpha < 3)', '/bin/sh'],
    files: [{ path: '/usr/bin/gamma', content: 'gamma', mode: 0o755 }],
    scripts: { 'post -p <lua>': 'print("lua")', 'preun': 'echo preun' },
  },
  {
    name: 'meta',
    version: '7',
    release: '1.fc41',
    requires: ['alpha', 'gamma'],
    summary: 'a package without files',
  },
  {
    name: 'reloc',
    version: '0.9',
    preamble: ['Prefix: /opt/reloc'],
    files: [{ path: '/opt/reloc/bin/tool', content: 'tool', mode: 0o755 }],
  },
];

/** The name of the package that gets signed. */
export const SIGNED = 'beta';

export interface FixtureSet {
  /** Package file paths, by name. */
  rpms: Map<string, string>;
  /** A root where rpm recorded every package with --justdb (db at usr/share/rpm). */
  rpmRoot: string;
  /** Package names in rpm's install order (hnum order of its db). */
  order: string[];
}

/** Builds, signs and installs (with rpm --justdb) the fixture set. */
export function buildFixtureSet(): FixtureSet {
  const dir = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-rpms-'));
  const rpms = new Map<string, string>();
  for (const p of PACKAGES) rpms.set(p.name, buildRpm(p, dir));
  signRpm(rpms.get(SIGNED)!, makeSigningKey());
  const rpmRoot = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-rpmroot-'));
  rpmJustdbInstall(rpmRoot, [...rpms.values()]);
  const order = sqlite(join(rpmRoot, 'usr/share/rpm/rpmdb.sqlite'), "SELECT key FROM Name ORDER BY hnum").split('\n').filter(Boolean);
  return { rpms, rpmRoot, order };
}

/** Runs one sqlite3 query; returns stdout. */
export function sqlite(db: string, sql: string): string {
  return execFileSync('sqlite3', [db, sql], { encoding: 'utf8' });
}

/** Runs rpm with `args` against the db directory `dbpath` (absolute); returns stdout (stderr appended on failure). */
export function rpmQuery(dbpath: string, args: string[]): { status: number; out: string } {
  try {
    const out = execFileSync('rpm', ['--dbpath', dbpath, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    return { status: 0, out };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { status: err.status ?? 1, out: (err.stdout ?? '') + (err.stderr ?? '') };
  }
}

/** The blob rpm stored for package `name` in the db at `file`. */
export function rpmBlob(file: string, name: string): Uint8Array {
  const hex = sqlite(file, `SELECT hex(p.blob) FROM Packages p JOIN Name n ON n.hnum = p.hnum WHERE n.key = '${name}'`).trim();
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
