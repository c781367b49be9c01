// writeTreeRpmdb lays the db out as rpm-ostree's compose does: usr/share/rpm/rpmdb.sqlite, the
// var/lib/rpm and usr/lib/sysimage/rpm symlinks (replacing what was there), the macros.rpm-ostree
// file; rpm (through each path and with the macro file loaded) and libsolv's rpmdb2solv read it.
// A symlink on the way out of the root is refused.

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { missing } from '../helpers/require-tool.ts';
import { buildRpm, HAVE_RPMBUILD, hasCommand } from '../helpers/rpmbuild.ts';
import { installedHeader } from '../../src/rpmdb/installed-header.ts';
import { writeTreeRpmdb, writeTreeRpmdbFromPackages } from '../../src/rpmdb/layout.ts';
import { readRpmHeaders } from '../../src/rpmdb/rpm-file.ts';
import { readRpmdb } from '../../src/rpmdb/rpmdb.ts';
import { rpmQuery } from './fixtures.ts';

const host = createNodeHost();
const TOOLS = { rpmbuild: HAVE_RPMBUILD, rpmdb2solv: hasCommand('rpmdb2solv'), dumpsolv: hasCommand('dumpsolv') };

function packageFiles(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-layout-rpms-'));
  return [
    buildRpm({ name: 'one', version: '1', files: [{ path: '/usr/bin/one', content: '1' }] }, dir),
    buildRpm({ name: 'two', version: '2', requires: ['one'], files: [{ path: '/usr/share/two/f', content: '2' }] }, dir),
  ];
}

async function blobs(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const f of packageFiles()) out.push(installedHeader(await readRpmHeaders(host.fs, f), { installTime: 1_700_000_000 }));
  return out;
}

describe.skipIf(missing('rpm-ostree rpmdb layout', TOOLS))('rpm-ostree rpmdb layout', () => {
  it('writes the db, replaces var/lib/rpm and usr/lib/sysimage/rpm with links, writes the macro, cleans rpm leftovers', async () => {
    const root = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-layout-'));
    mkdirSync(join(root, 'var/lib/rpm'), { recursive: true });
    writeFileSync(join(root, 'var/lib/rpm/Packages'), 'stale');
    mkdirSync(join(root, 'usr/lib/sysimage/rpm'), { recursive: true });
    mkdirSync(join(root, 'usr/share/rpm'), { recursive: true });
    for (const f of ['.rpm.lock', '.dbenv.lock', '__db.001']) writeFileSync(join(root, 'usr/share/rpm', f), '');
    const db = await writeTreeRpmdb(host, root, { blobs: await blobs() });
    expect(db).toBe(join(root, 'usr/share/rpm/rpmdb.sqlite'));
    expect(readdirSync(join(root, 'usr/share/rpm')).sort()).toEqual(['rpmdb.sqlite']);
    expect(lstatSync(join(root, 'var/lib/rpm')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'var/lib/rpm'))).toBe('../../usr/share/rpm');
    expect(readlinkSync(join(root, 'usr/lib/sysimage/rpm'))).toBe('../../share/rpm');
    const macro = join(root, 'usr/lib/rpm/macros.d/macros.rpm-ostree');
    expect(readFileSync(macro, 'utf8')).toBe('%_dbpath /usr/share/rpm\n');
    expect(lstatSync(macro).mode & 0o777).toBe(0o644);
    expect(execFileSync('rpm', ['--load', macro, '--eval', '%_dbpath'], { encoding: 'utf8' }).trim()).toBe('/usr/share/rpm');
    for (const via of ['usr/share/rpm', 'var/lib/rpm', 'usr/lib/sysimage/rpm']) {
      expect(rpmQuery(join(root, via), ['-qa']).out.trim().split('\n').sort(), via).toEqual(['one-1-1.noarch', 'two-2-1.noarch']);
    }
    // libsolv reads the installed set through usr/lib/sysimage/rpm, as rpm-ostree's client does.
    const solv = execFileSync('sh', ['-c', `rpmdb2solv -r '${root}' | dumpsolv`], { encoding: 'utf8' });
    expect(solv).toContain('repo size: 2 solvables');
    expect(solv).toMatch(/solvable:name: one\nsolvable:arch: noarch\nsolvable:evr: 1-1\n/);
    expect(solv).toMatch(/solvable:name: two\n[^]*?solvable:requires:\n  one\n/);
  });

  it('records package files (or their lead-to-header prefix, rpmostree.metadata) as one transaction', async () => {
    const files = packageFiles();
    const whole = files.map((f) => new Uint8Array(readFileSync(f)));
    const prefixes: Uint8Array[] = [];
    for (const f of files) prefixes.push(new Uint8Array(readFileSync(f)).subarray(0, (await readRpmHeaders(host.fs, f)).payloadStart));
    const a = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-layout-pkgs-'));
    const b = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-layout-meta-'));
    await writeTreeRpmdbFromPackages(host, a, whole, { installTime: 1_650_000_000, tid: 1_650_000_001 });
    await writeTreeRpmdbFromPackages(host, b, prefixes, { installTime: 1_650_000_000, tid: 1_650_000_001 });
    const qf = ['-qa', '--qf', '%{NEVRA} %{INSTALLTIME} %{INSTALLTID} %{SIGMD5}\\n'];
    const listed = rpmQuery(join(a, 'usr/share/rpm'), qf).out;
    expect(listed.trim().split('\n').sort()).toEqual([expect.stringMatching(/^one-1-1\.noarch 1650000000 1650000001 [0-9a-f]{32}$/), expect.stringMatching(/^two-2-1\.noarch 1650000000 1650000001 [0-9a-f]{32}$/)]);
    expect(rpmQuery(join(b, 'usr/share/rpm'), qf).out).toBe(listed);
    const [pa, pb] = [await readRpmdb(host, join(a, 'usr/share/rpm/rpmdb.sqlite')), await readRpmdb(host, join(b, 'usr/share/rpm/rpmdb.sqlite'))];
    expect(pb.map((p) => Buffer.from(p.blob).toString('hex'))).toEqual(pa.map((p) => Buffer.from(p.blob).toString('hex')));
  });

  it('refuses to write through a symlink that leaves the root', async () => {
    const root = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-layout-evil-'));
    const outside = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-layout-outside-'));
    symlinkSync(outside, join(root, 'usr'));
    await expect(writeTreeRpmdb(host, root, { blobs: [] })).rejects.toMatchObject({ code: 'EUNSAFEPATH' });
    expect(existsSync(join(outside, 'share'))).toBe(false);
  });
});
