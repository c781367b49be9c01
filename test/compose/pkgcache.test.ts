// Importing RPMs into the package cache. Oracles: the real ostree reads the result (`ostree refs`,
// `ls -R`, `show --print-metadata-key`, `fsck`), createrepo_c's rpm:header-range gives where the
// metadata bytes end, and rpm2cpio gives the files' content. Packages are read with src/rpm.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { importPackage, publishPackageRefs } from '../../src/compose/pkgcache.ts';
import { Transaction } from '../../src/repo/transaction.ts';
import type { Host } from '../../src/host.ts';
import { Repo } from '../../src/repo/repo.ts';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo, buildRpm } from '../helpers/rpmbuild.ts';
import { openRpmFile } from '../../src/compose/open.ts';
import { EDGE } from './fixtures.ts';

const host = createNodeHost();

describe.skipIf(missing('pkgcache import', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO }))('pkgcache', () => {
  const tmp = new TempDir('xylem-pkgcache-');
  afterAll(() => tmp.cleanup());
  const rpmdir = buildRepo([EDGE], tmp.join('rpms'));
  const rpm = join(rpmdir, readdirSync(rpmdir).find((f) => f.startsWith('edge-'))!);
  const ost = (args: string[]) => execFileSync(OSTREE!, args, { encoding: 'utf8' });

  for (const mode of ['bare-user', 'bare'] as const) {
    it(`imports a package as rpm-ostree lays it out (${mode})`, async () => {
      const path = tmp.join(`repo-${mode}`);
      const repo = await Repo.init(host, path, { mode });
      const r = await importPackage(repo, await openRpmFile(host.fs, rpm), { repo: { id: 'fx', timestamp: 1700000000n }, repodataChecksum: 'sha256:abc' });
      expect(r.ref).toBe('rpmostree/pkg/edge/1.0-1.noarch');
      expect(r.imported).toBe(true);
      expect(ost(['refs', `--repo=${path}`]).trim()).toBe('rpmostree/pkg/edge/1.0-1.noarch');
      const ls = ost(['ls', `--repo=${path}`, '-R', r.ref]).trim().split('\n').map((l) => {
        const f = l.split(/\s+/);
        return `${f[0]} ${f[1]} ${f[2]} ${f.slice(4).join(' ')}`;
      });
      expect(ls).toEqual([
        'd00755 0 0 /',
        'd00755 0 0 /usr',
        'd00755 0 0 /usr/bin',
        '-00755 0 0 /usr/bin/edge',
        '-00755 0 0 /usr/bin/edge-link',
        'l00777 0 0 /usr/bin/edge-sym -> edge',
        'd00755 0 0 /usr/etc',
        '-00644 0 0 /usr/etc/edge.conf',
        'd00750 0 0 /usr/etc/edge.d',
        'd00755 0 0 /usr/lib',
        'd00755 0 0 /usr/lib/opt',
        'd00755 0 0 /usr/lib/opt/edge',
        'd00755 0 0 /usr/lib/opt/edge/bin',
        '-00755 0 0 /usr/lib/opt/edge/bin/edge-opt',
        'd00755 0 0 /usr/lib/ostree-boot',
        '-00644 0 0 /usr/lib/ostree-boot/edge-loader',
        'd00755 0 0 /usr/lib/rpm-ostree',
        'd00755 0 0 /usr/lib/rpm-ostree/tmpfiles.d',
        '-00644 0 0 /usr/lib/rpm-ostree/tmpfiles.d/edge.conf',
        'd00755 0 0 /usr/sbin',
        '-00755 0 0 /usr/sbin/edgeping',
        'd00755 0 0 /usr/share',
        'd00755 0 0 /usr/share/doc',
        'd00755 0 0 /usr/share/doc/edge',
        '-00644 0 0 /usr/share/doc/edge/README',
        'd00755 0 0 /usr/share/edge',
        '-00644 0 0 /usr/share/edge/empty',
        '-00640 0 0 /usr/share/edge/owned',
      ]);
      const cat = (p: string) => ost(['cat', `--repo=${path}`, r.ref, p]);
      expect(cat('/usr/lib/rpm-ostree/tmpfiles.d/edge.conf').split('\n').sort()).toEqual(
        ['', 'L /opt/edge - - - - ../../usr/lib/opt/edge', 'L /var/cache/edge-link - - - - ../lib/edge', 'd /run/edge 0755 root root - -', 'd /var/lib/edge 0700 root root - -', 'f /var/log/edge.log 0644 root root - -'].sort(),
      );
      // Content as rpm2cpio unpacks it.
      const x = tmp.join(`x-${mode}`);
      mkdirSync(x);
      execFileSync('sh', ['-c', `rpm2cpio '${rpm}' | cpio -idm --quiet`], { cwd: x });
      expect(cat('/usr/bin/edge')).toBe(readFileSync(join(x, 'usr/bin/edge'), 'utf8'));
      expect(cat('/usr/etc/edge.conf')).toBe(readFileSync(join(x, 'etc/edge.conf'), 'utf8'));
      expect(cat('/usr/lib/ostree-boot/edge-loader')).toBe('boot\n');
      // The hardlink pair is one object.
      const csum = (p: string) => ost(['ls', `--repo=${path}`, '-C', r.ref, p]).trim().split(/\s+/)[4];
      expect(csum('/usr/bin/edge-link')).toBe(csum('/usr/bin/edge'));
      // Metadata, read by ostree.
      const key = (k: string) => ost(['show', `--repo=${path}`, r.ref, `--print-metadata-key=${k}`]).trim();
      expect(key('rpmostree.nevra')).toBe("('edge-1.0-1.noarch', 'edge', uint64 0, '1.0', '1', 'noarch')");
      expect(key('rpmostree.unpack_version')).toBe('uint32 1');
      expect(key('rpmostree.unpack_minor_version')).toBe('uint32 6');
      expect(key('rpmostree.repodata_checksum')).toBe("'sha256:abc'");
      expect(key('rpmostree.repo')).toBe(`{'id': <'fx'>, 'timestamp': <uint64 1700000000>}`);
      // rpmostree.metadata ends where createrepo_c says the main header ends.
      const repomd = readFileSync(join(rpmdir, 'repodata/repomd.xml'), 'utf8');
      const primary = gunzipSync(readFileSync(join(rpmdir, /href="(repodata\/[^"]*primary.xml.gz)"/.exec(repomd)![1]!))).toString();
      const end = Number(/<rpm:header-range start="\d+" end="(\d+)"/.exec(primary)![1]);
      const want = createHash('sha256').update(readFileSync(rpm).subarray(0, end)).digest('hex');
      expect(key('rpmostree.metadata_sha256')).toBe(`'${want}'`);
      if (mode === 'bare') {
        const caps = ost(['ls', `--repo=${path}`, '-X', r.ref, '/usr/sbin/edgeping']);
        // security.capability for cap_net_raw (bit 13), effective: 02000001 / 00002000 LE.
        expect(caps).toContain("b'security.capability', [byte 0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00");
      }
      expect(ost(['fsck', `--repo=${path}`])).toMatch(/Validating refs|object/i);
      // Importing again writes nothing.
      const again = await importPackage(repo, await openRpmFile(host.fs, rpm));
      expect(again).toEqual({ ref: r.ref, checksum: r.checksum, imported: false });
    });
  }

  it('deferRef: objects land unsynced and without a ref; publishPackageRefs syncs once, then moves the refs', async () => {
    let syncs = 0;
    const fs = new Proxy(host.fs, {
      get(t, k) {
        if (k === 'syncfs') return async (p: string) => (syncs++, t.syncfs!(p));
        const v = (t as unknown as Record<string | symbol, unknown>)[k];
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    const counting = { ...host, fs } as Host;
    const path = tmp.join('repo-defer');
    const repo = await Repo.init(counting, path, { mode: 'bare-user' });
    syncs = 0;
    const r = await importPackage(repo, await openRpmFile(host.fs, rpm), { deferRef: true });
    expect(r.imported).toBe(true);
    expect(syncs).toBe(0);
    expect(ost(['refs', `--repo=${path}`]).trim()).toBe('');
    await publishPackageRefs(repo, [r]);
    expect(syncs).toBe(1);
    expect(ost(['refs', `--repo=${path}`]).trim()).toBe(r.ref);
    expect(ost(['rev-parse', `--repo=${path}`, r.ref]).trim()).toBe(r.checksum);
    ost(['fsck', `--repo=${path}`]);
    // the same import made the usual way syncs (and moves its ref) by itself
    const path2 = tmp.join('repo-nodefer');
    const repo2 = await Repo.init(counting, path2, { mode: 'bare-user' });
    syncs = 0;
    const r2 = await importPackage(repo2, await openRpmFile(host.fs, rpm));
    expect(r2.checksum).toBe(r.checksum);
    expect(syncs).toBeGreaterThan(1);
    // a transaction that defers its syncfs may not move refs
    const txn = new Transaction(repo);
    txn.deferSyncfs = true;
    txn.setRef(null, 'x', r.checksum);
    await expect(txn.commit()).rejects.toThrow(/defers its syncfs/);
  });

  it('leaves out docs with documentation: false and refuses unsupported paths', async () => {
    const path = tmp.join('repo-nodocs');
    const repo = await Repo.init(host, path, { mode: 'bare-user' });
    const r = await importPackage(repo, await openRpmFile(host.fs, rpm), { documentation: false });
    const ls = ost(['ls', `--repo=${path}`, '-R', r.ref]);
    expect(ls).not.toContain('README');
    expect(ost(['show', `--repo=${path}`, r.ref, '--print-metadata-key=rpmostree.nodocs']).trim()).toBe('true');
    const srv = buildRpm({ name: 'srvpkg', files: [{ path: '/srv/www/index.html', content: 'x' }] }, tmp.join('srv'));
    await expect(importPackage(repo, await openRpmFile(host.fs, srv))).rejects.toThrow('srvpkg-1.0-1.noarch.rpm: Unsupported path: /srv/www/index.html; See https://github.com/projectatomic/rpm-ostree/issues/233');
    expect(ost(['refs', `--repo=${path}`]).trim()).toBe('rpmostree/pkg/edge/1.0-1.noarch');
  });
});
