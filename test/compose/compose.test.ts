// compose tree end to end on spec-built packages: the real ostree reads the result (ls, show
// --print-metadata-key, fsck); the checkout is compared file by file with `dnf --installroot` of
// the same packages after rpm-ostree's documented translations; an unchanged recompose makes no
// commit; changing one package imports exactly that one; db diff reports it.

import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { executeCompose, planCompose, type PackageResolver } from '../../src/compose/compose.ts';
import type { ComposeEvent } from '../../src/compose/events.ts';
import { loadTreefile } from '../../src/compose/treefile.ts';
import { dbDiff } from '../../src/compose/db.ts';
import { renderDiffBlock } from '../../src/compose/dbdiff.ts';
import { Repo } from '../../src/repo/repo.ts';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_DNF, HAVE_RPMBUILD, buildRepo, runDnf } from '../helpers/rpmbuild.ts';
import { EDGE, FILESYSTEM, LIBA } from './fixtures.ts';
import { staticResolver } from './static-resolver.ts';

const host = createNodeHost();

describe.skipIf(missing('compose tree', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO, dnf: HAVE_DNF }))('compose tree', () => {
  const tmp = new TempDir('xylem-compose-');
  afterAll(() => tmp.cleanup());
  const fx = buildRepo([FILESYSTEM, EDGE, LIBA('1.0')], tmp.join('fx'));
  const treefile = tmp.join('tf.yaml');
  writeFileSync(tmp.join('motd'), 'welcome\n');
  writeFileSync(
    treefile,
    [
      'ref: xylem/${basearch}/test',
      'repos: [fx]',
      'packages: [filesystem edge, liba]',
      'automatic-version-prefix: "10"',
      'units: [edge.service]',
      'default-target: multi-user.target',
      'add-files: [[motd, /etc/motd]]',
      'remove-files: [usr/share/edge/empty]',
      'remove-from-packages: [[liba, "/usr/lib/liba\\\\.so$"]]',
      'add-commit-metadata: {xylem.test: yes, xylem.count: 3}',
      'selinux: false',
      // The fixture kernel comes without dracut: keep it initramfs-less (initramfs.test.ts runs dracut).
      'no-initramfs: true',
      '',
    ].join('\n'),
  );
  const repoPath = tmp.join('repo');
  const cachePath = tmp.join('cache/pkgcache-repo');
  const ost = (args: string[]) => execFileSync(OSTREE!, [...args], { encoding: 'utf8' });

  async function compose(resolver: PackageResolver, timestamp: bigint, force = false) {
    const repo = await Repo.init(host, repoPath, { mode: 'archive' });
    const cache = await Repo.init(host, cachePath, { mode: 'bare-user' });
    const tf = await loadTreefile(host.fs, treefile);
    const resolution = await resolver.resolve(tf);
    const sha256 = () => repo.createSha256();
    const plan = await planCompose(repo, cache, tf, resolution, { sha256, forceNocache: force });
    const events: ComposeEvent[] = [];
    const result = await executeCompose(repo, cache, tf, resolution, plan, { workdir: tmp.join('work'), timestamp, emit: (e) => events.push(e) });
    return { plan, result, events };
  }

  it('composes, and the real ostree reads the commit', async () => {
    const { plan, result, events } = await compose(staticResolver({ fx }), 1700000000n);
    expect(plan.packages.map((p) => [p.ref, p.action])).toEqual([
      ['rpmostree/pkg/filesystem/3.18-1.noarch', 'import'],
      ['rpmostree/pkg/edge/1.0-1.noarch', 'import'],
      ['rpmostree/pkg/liba/1.0-1.noarch', 'import'],
    ]);
    expect(result.imported).toBe(3);
    expect(events.some((e) => e.type === 'skipped' && e.step === 'rpmdb')).toBe(true);
    const c = result.commit!;
    expect(ost(['rev-parse', `--repo=${repoPath}`, 'xylem/x86_64/test']).trim()).toBe(c);
    const key = (k: string) => ost(['show', `--repo=${repoPath}`, c, `--print-metadata-key=${k}`]).trim();
    expect(key('version')).toBe("'10'");
    expect(key('rpmostree.inputhash')).toBe(`'${plan.inputHash}'`);
    expect(key('rpmostree.rpmdb.pkglist')).toBe("[('edge', '0', '1.0', '1', 'noarch'), ('filesystem', '0', '3.18', '1', 'noarch'), ('liba', '0', '1.0', '1', 'noarch')]");
    expect(key('rpmostree.rpmmd-repos')).toMatch(/^\[\{'id': <'fx'>, 'timestamp': <uint64 \d{10}>\}\]$/);
    expect(key('ostree.linux')).toBe("'6.1.0-x'");
    expect(key('ostree.bootable')).toBe('true');
    expect(key('xylem.test')).toBe("'yes'");
    expect(key('xylem.count')).toBe('int64 3');
    expect(ost(['refs', `--repo=${cachePath}`]).trim().split('\n').sort()).toEqual(plan.packages.map((p) => p.ref).sort());
    ost(['fsck', `--repo=${repoPath}`]);
    ost(['fsck', `--repo=${cachePath}`]);
    // The layout rpm-ostree gives a tree.
    const ls = ost(['ls', `--repo=${repoPath}`, c, '/']).trim().split('\n').map((l) => l.split(/\s+/).slice(4).join(' '));
    expect(ls.sort()).toEqual(
      ['/', '/dev', '/home -> var/home', '/media -> run/media', '/mnt -> var/mnt', '/opt -> var/opt', '/ostree -> sysroot/ostree', '/proc', '/root -> var/roothome', '/run', '/srv -> var/srv', '/sys', '/sysroot', '/tmp -> sysroot/tmp', '/usr', '/var'].sort(),
    );
    const lsl = (p: string) => ost(['ls', `--repo=${repoPath}`, c, p]).trim().split(/\s+/);
    expect(lsl('/usr/share/edge/owned').slice(0, 3)).toEqual(['-00640', '990', '990']);
    expect(ost(['cat', `--repo=${repoPath}`, c, '/usr/etc/motd'])).toBe('welcome\n');
    expect(ost(['cat', `--repo=${repoPath}`, c, '/usr/lib/passwd'])).toBe('bin:x:1:1:bin:/bin:/sbin/nologin\nedge:x:990:990::/var/lib/edge:/sbin/nologin\n');
    expect(ost(['cat', `--repo=${repoPath}`, c, '/usr/etc/passwd'])).toBe('root:x:0:0:root:/root:/bin/sh\n');
    expect(ost(['cat', `--repo=${repoPath}`, c, '/usr/etc/nsswitch.conf'])).toBe('passwd:     files altfiles sss\nshadow:     files\ngroup:      files altfiles sss\nhosts:      files dns\n');
    expect(ost(['cat', `--repo=${repoPath}`, c, '/usr/lib/tmpfiles.d/rpm-ostree-autovar.conf'])).toBe(
      '# This file was generated by rpm-ostree.\nL /opt/edge - - - - ../../usr/lib/opt/edge\nd /run/edge 0755 root root - -\nL /var/cache/edge-link - - - - ../lib/edge\nd /var/lib/edge 0700 root root - -\nf /var/log/edge.log 0644 root root - -\n',
    );
    expect(ost(['cat', `--repo=${repoPath}`, c, '/usr/lib/tmpfiles.d/rpm-ostree-1-autovar.conf'])).toBe('L /var/lib/rpm - - - - ../../usr/share/rpm\nd /var/lib 0755 root root - -\n');
    expect(lsl('/usr/etc/systemd/system/multi-user.target.wants/edge.service').slice(-3)).toEqual(['/usr/etc/systemd/system/multi-user.target.wants/edge.service', '->', '/usr/lib/systemd/system/edge.service']);
    expect(lsl('/usr/etc/systemd/system/default.target').slice(-1)).toEqual(['/usr/lib/systemd/system/multi-user.target']);
    const bootls = ost(['ls', `--repo=${repoPath}`, c, '/usr/lib/ostree-boot']);
    const kcsum = execFileSync('sh', ['-c', "printf 'kernel image\\n' | sha256sum"], { encoding: 'utf8' }).split(' ')[0];
    expect(bootls).toContain(`/usr/lib/ostree-boot/vmlinuz-6.1.0-x-${kcsum}`);
  });

  it('matches dnf --installroot file by file after the translations', async () => {
    const c = ost(['rev-parse', `--repo=${repoPath}`, 'xylem/x86_64/test']).trim();
    const co = tmp.join('co');
    ost(['checkout', `--repo=${repoPath}`, '-U', c, co]);
    const dnfroot = tmp.join('dnfroot');
    const r = runDnf(['install', '--setopt=tsflags=noscripts', 'filesystem', 'edge', 'liba'], { fx }, { installroot: dnfroot });
    expect(r.status, r.stderr).toBe(0);
    const list = execFileSync('rpm', ['-qlp', ...['filesystem', 'edge', 'liba'].map((n) => join(fx, execFileSync('sh', ['-c', `ls ${fx} | grep '^${n}-'`], { encoding: 'utf8' }).trim()))], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const changedByCompose = new Set(['/etc/passwd', '/etc/group', '/etc/nsswitch.conf', '/usr/share/edge/empty', '/usr/lib/liba.so', '/usr/lib/modules/6.1.0-x/vmlinuz']);
    let compared = 0;
    for (const p of list) {
      if (changedByCompose.has(p) || p.startsWith('/var/') || p.startsWith('/run/') || p === '/usr/share/edge/ghost') continue;
      const ours = p.startsWith('/etc/') ? `/usr${p}` : p.startsWith('/boot/') ? `/usr/lib/ostree-boot${p.slice(5)}` : p.startsWith('/opt/') ? `/usr/lib${p}` : p;
      const a = lstatSync(join(dnfroot, p));
      const b = lstatSync(join(co, ours));
      expect([p, b.mode & 0o177777]).toEqual([p, a.mode & 0o177777]);
      if (a.isSymbolicLink()) expect(readlinkSync(join(co, ours))).toBe(readlinkSync(join(dnfroot, p)));
      else if (a.isFile()) expect(readFileSync(join(co, ours))).toEqual(readFileSync(join(dnfroot, p)));
      compared++;
    }
    expect(compared).toBeGreaterThan(12);
    expect(existsSync(join(co, 'usr/lib/liba.so'))).toBe(false);
    expect(existsSync(join(co, 'usr/share/edge/empty'))).toBe(false);
  });

  it('does nothing when nothing changed, and imports one package when one changed', async () => {
    const before = ost(['rev-parse', `--repo=${repoPath}`, 'xylem/x86_64/test']).trim();
    const again = await compose(staticResolver({ fx }), 1700000100n);
    expect(again.plan.unchanged).toBe(true);
    expect(again.result.commit).toBeNull();
    expect(again.events.some((e) => e.type === 'unchanged')).toBe(true);
    expect(ost(['rev-parse', `--repo=${repoPath}`, 'xylem/x86_64/test']).trim()).toBe(before);
    // liba 1.1 lands in a second repo folder.
    const fx2 = buildRepo([LIBA('1.1')], tmp.join('fx2'));
    const next = await compose(staticResolver({ fx, fx2 }), 1700000200n);
    expect(next.plan.packages.filter((p) => p.action === 'import').map((p) => p.ref)).toEqual(['rpmostree/pkg/liba/1.1-1.noarch']);
    expect(next.result.imported).toBe(1);
    const c2 = next.result.commit!;
    expect(ost(['rev-parse', `--repo=${repoPath}`, `${c2}^`]).trim()).toBe(before);
    expect(ost(['show', `--repo=${repoPath}`, c2, '--print-metadata-key=version']).trim()).toBe("'10.1'");
    const repo = await Repo.open(host, repoPath);
    const d = await dbDiff(repo, before, c2);
    expect(renderDiffBlock(d.diff)).toBe('Upgraded:\n  liba 1.0-1 -> 1.1-1\n');
    // --force-nocache composes anyway.
    const forced = await compose(staticResolver({ fx, fx2 }), 1700000300n, true);
    expect(forced.result.imported).toBe(0);
    expect(ost(['show', `--repo=${repoPath}`, forced.result.commit!, '--print-metadata-key=version']).trim()).toBe("'10.2'");
    // The root's commit reuses the checksums of the hardlinked package files (devino cache) once
    // their objects are in the repo: the first compose hashed every file, the second reused all
    // but liba 1.1's, the forced one reused all; every file must have the checksum hashing gives.
    const files = (rev: string) => ost(['ls', '-RCX', `--repo=${repoPath}`, rev]).split('\n').filter((l) => l !== '' && !l.startsWith('d'));
    expect(files(forced.result.commit!)).toEqual(files(c2));
    expect(files(c2).filter((l) => !l.includes('liba'))).toEqual(files(before).filter((l) => !l.includes('liba')));
    expect(files(c2).filter((l) => l.includes('liba'))).not.toEqual(files(before).filter((l) => l.includes('liba')));
  });
});
