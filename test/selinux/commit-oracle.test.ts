// `xylem commit --selinux-policy` against `ostree commit --selinux-policy` (2022.7): the same tree
// committed with the same policy root (Debian's refpolicy copied into a temporary root holding
// etc/selinux/config) into two repositories of the same mode must give the same commit checksum,
// which covers every label (dirmeta and file headers carry security.selinux), the order of the
// xattrs (the label is appended after user.* ones), labels replacing ones on disk, paths the
// policy leaves unlabelled keeping theirs, /proc labelled as /mnt, and every repo mode. Also
// --selinux-policy-from-base (from --base, the first --tree=dir= and --tree=ref=), relabelling
// an existing commit (--tree=ref=), a disabled policy, options combined with labelling, and the
// labeling epoch 1 (/usr/etc as /etc; newer ostree only: checked against 2022.7's /etc labels).

import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, initRepo, ostreeFsck, run, sh, tool, type Mode, type Tool } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_REFPOLICY, writePolicyRoot } from '../helpers/selinux.ts';
import { buildTrickyTree } from '../helpers/tricky-tree.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo, commitDirectory, loadPolicyFromDirectory } from '../../src/index.ts';

const TS = '--timestamp=2023-03-03T03:03:03Z';

/** A small OS-like tree exercising the labelling rules; files get xattrs with setfattr. */
function buildOsTree(root: string): string {
  const file = (p: string, text: string, mode = 0o644) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text, { mode });
  };
  for (const d of ['proc', 'sys', 'dev', 'run', 'tmp', 'var/tmp', 'root', 'boot', 'mnt', 'sysroot']) mkdirSync(join(root, d), { recursive: true });
  file('usr/bin/ls', 'ls', 0o755);
  file('usr/bin/passwd', 'passwd', 0o4755);
  file('usr/sbin/sshd', 'sshd', 0o755);
  file('usr/lib/libc.so.6', 'libc', 0o755);
  file('usr/lib/systemd/system/sshd.service', '[Unit]\n');
  file('usr/lib/modules/6.1.0/vmlinuz', 'kernel');
  file('usr/share/man/man1/ls.1.gz', 'man');
  file('usr/etc/ssh/sshd_config', 'Port 22\n');
  file('usr/etc/shadow', 'root:*:1::::::\n', 0o400);
  file('usr/etc/selinux/README', 'policy would be here\n');
  file('etc/shadow', 'root:*:1::::::\n', 0o400);
  file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n');
  file('etc/hostname', 'host\n');
  file('home/u/.ssh/authorized_keys', 'ssh-ed25519 AAAA\n', 0o600);
  file('var/log/messages', '');
  file('var/lib/rpm/rpmdb.sqlite', 'db');
  file('tmp/scratch', 'x');
  file('srv/www/index.html', '<html>');
  file('boot/vmlinuz-6.1.0', 'kernel');
  symlinkSync('usr/bin', join(root, 'bin'));
  symlinkSync('usr/lib', join(root, 'lib'));
  symlinkSync('usr/lib', join(root, 'lib64'));
  symlinkSync('../run', join(root, 'var/run'));
  symlinkSync('/usr/share/zoneinfo/UTC', join(root, 'etc/localtime'));
  // A user xattr (sorted before the appended label: ostree does not re-sort), a label on disk that
  // the policy replaces, and one on a path the policy does not label (/tmp/.*: <<none>>), kept.
  sh('setfattr', ['-n', 'user.zzz', '-v', 'last', join(root, 'usr/bin/ls')]);
  sh('setfattr', ['-n', 'user.aaa', '-v', 'first', join(root, 'usr/bin/ls')]);
  sh('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:etc_t:s0', join(root, 'etc/shadow')]);
  sh('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:tmp_t:s0', join(root, 'tmp/scratch')]);
  return root;
}

describeInterop('interop: commit --selinux-policy', () => {
  if (missing('commit --selinux-policy oracle', { 'selinux-policy-default': HAVE_REFPOLICY })) return;
  vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
  let tmp: TempDir;
  let tree: string;
  let policy: string;
  const repos = new Map<string, { x: string; o: string }>();

  beforeAll(() => {
    buildCli();
    tmp = new TempDir('xylem-selinux-commit-');
    tree = buildOsTree(tmp.join('tree'));
    policy = tmp.join('policy');
    writePolicyRoot(policy, { binary: true });
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  function reposFor(mode: Mode): { x: string; o: string } {
    let r = repos.get(mode);
    if (!r) {
      r = { x: initRepo('xylem', tmp.join(`x-${mode}`), mode), o: initRepo('ostree', tmp.join(`o-${mode}`), mode) };
      repos.set(mode, r);
    }
    return r;
  }

  /** Runs the same commit with both tools; expects the same checksum (shows the trees on a mismatch). */
  function sameCommit(mode: Mode, args: string[]): string {
    const { x, o } = reposFor(mode);
    const oc = run('ostree', [`--repo=${o}`, 'commit', TS, ...args]);
    const xc = run('xylem', [`--repo=${x}`, 'commit', TS, ...args]);
    if (xc !== oc) expect(run('ostree', [`--repo=${x}`, 'ls', '-R', '-X', xc]), args.join(' ')).toBe(run('ostree', [`--repo=${o}`, 'ls', '-R', '-X', oc]));
    expect(xc, args.join(' ')).toBe(oc);
    return xc;
  }

  const ls = (mode: Mode, t: Tool, rev: string, path: string) => run('ostree', [`--repo=${reposFor(mode)[t === 'ostree' ? 'o' : 'x']}`, 'ls', '-X', rev, path]);

  for (const mode of ['archive', 'bare-user', 'bare', 'bare-user-only'] as Mode[]) {
    it(`${mode}: the same labelled commit`, () => {
      sameCommit(mode, ['-b', 'os', `--selinux-policy=${policy}`, tree]);
      if (mode === 'archive') {
        // Sanity on what the oracle wrote: labels from the policy, the user xattrs first.
        expect(ls(mode, 'xylem', 'os', '/etc/shadow')).toContain("(b'security.selinux', b'system_u:object_r:shadow_t:s0')");
        expect(ls(mode, 'xylem', 'os', '/proc')).toContain('mnt_t');
        // The label setfattr wrote (no trailing NUL) is kept: "tmp_t" in bytes.
        expect(ls(mode, 'xylem', 'os', '/tmp/scratch')).toContain('0x74, 0x6d, 0x70, 0x5f, 0x74');
        expect(ls(mode, 'xylem', 'os', '/usr/bin/ls')).toMatch(/user\.aaa.*user\.zzz.*security\.selinux/);
      }
      // ostree fsck says the same of both repos. In bare and bare-user-only repos that is an
      // error for ostree's own commit too: a bare object's xattrs read back sorted (the label is
      // no longer last), a bare-user-only one has none, so the recomputed checksum differs.
      const o = tool('ostree', [`--repo=${reposFor(mode).o}`, 'fsck']);
      const x = tool('ostree', [`--repo=${reposFor(mode).x}`, 'fsck']);
      expect(x.status, x.stderr).toBe(o.status);
      expect(x.stderr.split('\n').filter((l) => l.startsWith('error'))).toEqual(o.stderr.split('\n').filter((l) => l.startsWith('error')));
      if (mode === 'archive' || mode === 'bare-user') ostreeFsck(reposFor(mode).x);
    });
  }

  it('the tricky tree (odd names, modes, xattrs, symlinks), labelled', () => {
    const tricky = buildTrickyTree(tmp.join('tricky'));
    sameCommit('archive', ['-b', 'tricky', `--selinux-policy=${policy}`, tricky]);
    sameCommit('bare-user', ['-b', 'tricky', `--selinux-policy=${policy}`, tricky]);
  });

  it('labelling combined with --canonical-permissions, --no-xattrs, --owner-uid, --statoverride, --skip-list', () => {
    const so = tmp.join('statoverride');
    writeFileSync(so, '=384 /usr/bin/ls\n');
    const skip = tmp.join('skiplist');
    writeFileSync(skip, '/srv/www/index.html\n');
    sameCommit('archive', ['-b', 'canon', '--canonical-permissions', `--selinux-policy=${policy}`, tree]);
    sameCommit('archive', ['-b', 'noxattrs', '--no-xattrs', `--selinux-policy=${policy}`, tree]);
    sameCommit('archive', ['-b', 'owner', '--owner-uid=42', '--owner-gid=42', `--selinux-policy=${policy}`, tree]);
    sameCommit('archive', ['-b', 'filters', `--statoverride=${so}`, `--skip-list=${skip}`, `--selinux-policy=${policy}`, tree]);
  });

  it('relabelling an existing commit (--tree=ref=) and a --tree=tar= import', () => {
    sameCommit('archive', ['-b', 'plain', tree]);
    sameCommit('archive', ['-b', 'relabel', '--tree=ref=plain', `--selinux-policy=${policy}`]);
    sameCommit('archive', ['-b', 'relabel-onto-dir', '--tree=ref=plain', `--tree=dir=${tmp.join('tricky')}`, `--selinux-policy=${policy}`]);
    const tarball = tmp.join('tree.tar');
    sh('tar', ['--xattrs', '--xattrs-include=user.*', '--numeric-owner', '-C', tree, '-cf', tarball, '.']);
    sameCommit('archive', ['-b', 'tar', `--tree=tar=${tarball}`, `--selinux-policy=${policy}`]);
  });

  it('--selinux-policy-from-base: from the first --tree=dir=, from --base, from the first --tree=ref=', () => {
    // A tree carrying its own policy in etc/selinux, and one carrying it in usr/etc/selinux.
    const withPolicy = tmp.join('with-policy');
    buildOsTree(withPolicy);
    writePolicyRoot(withPolicy, { binary: true });
    sameCommit('archive', ['-b', 'from-dir', '--selinux-policy-from-base', `--tree=dir=${withPolicy}`, `--tree=dir=${tmp.join('tricky')}`]);
    sameCommit('archive', ['-b', 'from-dir-short', '-P', withPolicy]);
    const usrEtc = tmp.join('usr-etc-policy');
    buildOsTree(usrEtc);
    writePolicyRoot(usrEtc, { binary: true, etc: 'usr/etc' });
    sameCommit('archive', ['-b', 'base', usrEtc]);
    sameCommit('archive', ['-b', 'from-base', '--base=base', '--selinux-policy-from-base', `--tree=dir=${tmp.join('tricky')}`]);
    sameCommit('archive', ['-b', 'from-ref', '--selinux-policy-from-base', '--tree=ref=base', `--tree=dir=${tree}`]);
    // A commit without usr/etc/selinux: no policy, no labels (but the modifier still walks the ref).
    sameCommit('archive', ['-b', 'from-plain', '--selinux-policy-from-base', '--tree=ref=plain']);
  });

  it('the library: commitDirectory with a policy in its modifier (what compose calls)', async () => {
    const host = createNodeHost();
    const sepolicy = await loadPolicyFromDirectory(host.fs, policy);
    expect(sepolicy?.name).toBe('default');
    const repo = await Repo.init(host, tmp.join('lib-repo'), { mode: 'archive' });
    const { checksum } = await commitDirectory(repo, tree, { branch: 'lib', timestamp: Date.parse('2023-03-03T03:03:03Z') / 1000, modifier: { sepolicy: sepolicy! } });
    expect(checksum).toBe(run('ostree', [`--repo=${reposFor('archive').o}`, 'commit', TS, '-b', 'lib', `--selinux-policy=${policy}`, tree]));
    // rpm-ostree's flags: fail on a path the policy leaves unlabelled (/tmp/.* is <<none>>).
    await expect(
      commitDirectory(repo, tree, { branch: 'strict', modifier: { sepolicy: sepolicy!, selinuxLabel: { errorOnUnlabeled: true } } }),
    ).rejects.toThrow("Failed to look up SELinux label for '/tmp/scratch'");
  });

  for (const mode of ['bare-user', 'bare'] as Mode[]) {
    it(`${mode}: --link-checkout-speedup over a hardlinked checkout reuses only objects whose label is unchanged`, () => {
      const { x, o } = reposFor(mode);
      sameCommit(mode, ['-b', 'speedup-plain', tree]);
      const lines = (out: string) => out.split('\n').filter((l) => /^(Commit|Content Cache Hits):/.test(l));
      // plain → labelled (nothing reusable) → labelled again (all reusable but the file whose
      // xattrs read back in another order than the labelled list: libostree's rule too).
      let from = 'speedup-plain';
      for (const b of ['speedup-1', 'speedup-2']) {
        const outs = (['ostree', 'xylem'] as Tool[]).map((t) => {
          const repo = t === 'ostree' ? o : x;
          const co = tmp.join(`co-${mode}-${b}-${t}`);
          run('ostree', [`--repo=${repo}`, 'checkout', ...(mode === 'bare-user' ? ['-U'] : []), '-H', from, co]);
          return lines(run(t, [`--repo=${repo}`, 'commit', TS, '-b', b, '--table-output', '--link-checkout-speedup', `--selinux-policy=${policy}`, co]));
        });
        expect(outs[1], `${mode} ${b}`).toEqual(outs[0]);
        from = b;
      }
    });
  }

  it('refusals: both policy options, from-base with a tar first', () => {
    for (const t of ['ostree', 'xylem'] as Tool[]) {
      const repo = reposFor('archive')[t === 'ostree' ? 'o' : 'x'];
      const both = tool(t, [`--repo=${repo}`, 'commit', '-b', 'bad', `--selinux-policy=${policy}`, '--selinux-policy-from-base', tree]);
      expect(both.status, t).not.toBe(0);
      expect(both.stderr, t).toContain('Cannot specify both --selinux-policy and --selinux-policy-from-base');
      const tar = tool(t, [`--repo=${repo}`, 'commit', '-b', 'bad', '-P', `--tree=tar=${tmp.join('tree.tar')}`]);
      expect(tar.status, t).not.toBe(0);
      expect(tar.stderr, t).toContain('Cannot use --selinux-policy-from-base with tar');
    }
  });

  it('a policy root whose config says SELINUX=disabled labels nothing', () => {
    const disabled = tmp.join('disabled');
    writePolicyRoot(disabled, { binary: true, config: 'SELINUX=disabled\nSELINUXTYPE=default\n' });
    const c = sameCommit('archive', ['-b', 'disabled', `--selinux-policy=${disabled}`, tree]);
    expect(ls('archive', 'xylem', c, '/usr/bin/passwd')).not.toContain('security.selinux');
  });

  it('--selinux-labeling-epoch=1 labels /usr/etc/… as ostree labels /etc/…', () => {
    const c1 = run('xylem', [`--repo=${reposFor('archive').x}`, 'commit', TS, '-b', 'epoch1', '--selinux-labeling-epoch=1', `--selinux-policy=${policy}`, tree]);
    const label = (out: string) => /\{ (.*) \}/.exec(out)?.[1];
    for (const p of ['/ssh/sshd_config', '/shadow', '/selinux/README', '/ssh', '']) {
      const ours = label(ls('archive', 'xylem', c1, `/usr/etc${p}`));
      // ostree 2022.7 has no epoch 1: the reference is its label for the same path under /etc.
      const etcTree = tmp.join(`etc-ref${p.replace(/\//g, '_')}`);
      mkdirSync(join(etcTree, 'etc', p, '..'), { recursive: true });
      if (p.endsWith('README') || p.endsWith('config') || p === '/shadow') writeFileSync(join(etcTree, 'etc', p), 'x');
      else mkdirSync(join(etcTree, 'etc', p), { recursive: true });
      const oc = run('ostree', [`--repo=${reposFor('archive').o}`, 'commit', TS, '--orphan', `--selinux-policy=${policy}`, etcTree]);
      expect(ours, p).toBe(label(ls('archive', 'ostree', oc, `/etc${p}`)));
    }
    // Epoch 0 (ostree 2022.7's only behaviour) labels /usr/etc by its own rules: different for shadow.
    expect(label(ls('archive', 'xylem', 'os', '/usr/etc/shadow'))).not.toBe(label(ls('archive', 'xylem', c1, '/usr/etc/shadow')));
    const bad = tool('xylem', [`--repo=${reposFor('archive').x}`, 'commit', '-b', 'bad', '--selinux-labeling-epoch=2', `--selinux-policy=${policy}`, tree]);
    expect(bad.stderr).toContain('Unknown SELinux labeling epoch: 2');
  });
});

