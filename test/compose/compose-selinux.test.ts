// compose tree with `selinux: true`: every path of the commit is labelled from the policy the tree
// itself ships (usr/etc/selinux/<type>/contexts/files/file_contexts), checked against libselinux
// (matchpathcon over the same file_contexts) through what the real ostree reads back (`ls -X`).
// File capabilities from the RPM header survive a bare-user package cache.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { executeCompose, planCompose } from '../../src/compose/compose.ts';
import { loadTreefile } from '../../src/compose/treefile.ts';
import { Repo } from '../../src/repo/repo.ts';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo } from '../helpers/rpmbuild.ts';
import { HAVE_MATCHPATHCON, matchpathcon } from '../helpers/selinux.ts';
import { EDGE, FILESYSTEM } from './fixtures.ts';
import { staticResolver } from './static-resolver.ts';

const host = createNodeHost();
const FC = ['/.*\tsystem_u:object_r:default_t:s0', '/usr(/.*)?\tsystem_u:object_r:usr_t:s0', '/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0', '/usr/sbin/edgeping\t--\tsystem_u:object_r:ping_exec_t:s0', '/usr/etc(/.*)?\tsystem_u:object_r:etc_t:s0', ''].join('\n');

describe.skipIf(missing('compose tree with SELinux labels', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO, matchpathcon: HAVE_MATCHPATHCON }))('compose tree: selinux', () => {
  const tmp = new TempDir('xylem-compose-se-');
  afterAll(() => tmp.cleanup());

  it('labels from the tree policy as libselinux does, and keeps file caps', async () => {
    const policy = {
      name: 'policy-fx',
      files: [
        { path: '/etc/selinux/config', content: 'SELINUX=enforcing\nSELINUXTYPE=fx\n' },
        { path: '/etc/selinux/fx/contexts/files/file_contexts', content: FC },
      ],
    };
    const fx = buildRepo([FILESYSTEM, EDGE, policy], tmp.join('fx'));
    writeFileSync(tmp.join('fc'), FC);
    writeFileSync(tmp.join('tf.yaml'), 'ref: se\npackages: [filesystem, edge, policy-fx]\nselinux: true\nno-initramfs: true\n');
    const repoPath = tmp.join('repo');
    const repo = await Repo.init(host, repoPath, { mode: 'archive' });
    const cache = await Repo.init(host, tmp.join('pkgcache'), { mode: 'bare-user' });
    const tf = await loadTreefile(host.fs, tmp.join('tf.yaml'));
    const res = await staticResolver({ fx }).resolve(tf);
    const plan = await planCompose(repo, cache, tf, res, { sha256: () => repo.createSha256() });
    const r = await executeCompose(repo, cache, tf, res, plan, { workdir: tmp.join('work') });
    const paths = ['/usr/bin/edge', '/usr/sbin/edgeping', '/usr/share/edge/owned', '/usr/etc/edge.conf', '/usr/lib/passwd', '/usr'];
    const want = [...matchpathcon(tmp.join('fc'), paths.slice(0, 5), 'f'), ...matchpathcon(tmp.join('fc'), ['/usr'], 'd')];
    const got = paths.map((p) => {
      const out = execFileSync(OSTREE!, ['ls', `--repo=${repoPath}`, '-X', r.commit!, '-d', p], { encoding: 'utf8' });
      const m = /b'security\.selinux', \[byte ([^\]]*)\]/.exec(out) ?? /\(b'security\.selinux', b'([^']*)'\)/.exec(out);
      if (!m) return null;
      if (m[0].includes('[byte')) return Buffer.from(m[1]!.split(', ').map((x) => parseInt(x, 16))).toString().replace(/\0$/, '');
      return m[1]!.replace(/\\x00|\\000$/, '');
    });
    expect(got).toEqual(want);
    expect(want[0]).toBe('system_u:object_r:bin_t:s0');
    const caps = execFileSync(OSTREE!, ['ls', `--repo=${repoPath}`, '-X', r.commit!, '/usr/sbin/edgeping'], { encoding: 'utf8' });
    expect(caps).toContain("b'security.capability', [byte 0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00");
    execFileSync(OSTREE!, ['fsck', `--repo=${repoPath}`]);
  });
});
