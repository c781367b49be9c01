// Postprocessing on hostile trees: a package-planted symlink must never make compose read or
// write outside the assembled root; links that stay inside it (authselect's nsswitch.conf) are
// followed the way the booted system resolves them (/etc meaning usr/etc). The altfiles edit
// follows rpm-ostree's rule on real-looking nsswitch lines.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { addAltfiles, checkRealDirs, nsswitchAltfiles, POSTPROCESS_DIRS, resolveInRoot, splitPasswd } from '../../src/compose/postprocess.ts';

const host = createNodeHost();
const base = mkdtempSync(join(tmpdir(), 'xylem-postprocess-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
function root(): string {
  const r = join(base, `r${n++}`);
  mkdirSync(join(r, 'usr/etc'), { recursive: true });
  return r;
}

describe('postprocess on hostile trees', () => {
  it('follows nsswitch.conf links inside the root, /etc meaning usr/etc', async () => {
    const r = root();
    mkdirSync(join(r, 'usr/etc/authselect'));
    writeFileSync(join(r, 'usr/etc/authselect/nsswitch.conf'), 'passwd: files systemd\ngroup: sss files\n');
    symlinkSync('/etc/authselect/nsswitch.conf', join(r, 'usr/etc/nsswitch.conf'));
    await nsswitchAltfiles(host.fs, r);
    expect(readFileSync(join(r, 'usr/etc/authselect/nsswitch.conf'), 'utf8')).toBe('passwd: files altfiles systemd\ngroup: sss files altfiles\n');
  });

  it('refuses links that leave the root, and symlinked directories it would write under', async () => {
    const outside = join(base, 'outside.conf');
    writeFileSync(outside, 'passwd: files\n');
    const r = root();
    symlinkSync('../../../outside.conf', join(r, 'usr/etc/nsswitch.conf'));
    await expect(nsswitchAltfiles(host.fs, r)).rejects.toThrow(/resolves outside the tree/);
    expect(readFileSync(outside, 'utf8')).toBe('passwd: files\n');
    const r2 = root();
    symlinkSync(base, join(r2, 'usr/lib'));
    await expect(checkRealDirs(host.fs, r2, POSTPROCESS_DIRS)).rejects.toThrow(/\/usr\/lib is a symlink/);
    const r3 = root();
    symlinkSync('/etc/passwd', join(r3, 'usr/etc/passwd'));
    await expect(splitPasswd(host.fs, r3, [])).rejects.toThrow(/expected a regular file/);
    expect(await resolveInRoot(host.fs, r3, 'usr/etc/missing')).toBeNull();
  });

  it('adds altfiles only after files, once', () => {
    expect(addAltfiles('passwd:     files sss\ngroup: files\nhosts: files dns\n')).toBe('passwd:     files altfiles sss\ngroup: files altfiles\nhosts: files dns\n');
    expect(addAltfiles('passwd: files altfiles\ngroup: sss\n')).toBe('passwd: files altfiles\ngroup: sss\n');
  });
});
