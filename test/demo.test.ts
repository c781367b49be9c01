// The README's main job must keep working: run the demo (repository cycle, then the update cycle
// on a throw-away sysroot over HTTP on 127.0.0.1, then the composed OS from Debian binaries as
// RPMs) and check its milestones.

import { expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the demo runs the whole update cycle', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'tools/demo.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  const out = `${r.stdout}${r.stderr}`;
  expect(r.status, out).toBe(0);
  expect(out).toMatch(/^M {4}\/usr\/bin\/hello$/m);
  expect(out).toContain('object fsck of 2 commits completed successfully - no errors found.');
  if (process.getuid?.() === 0) {
    expect(out).toContain('Copying /etc changes: 1 modified, 0 removed, 0 added');
    expect(out).toContain('etc/demo.conf in version 2: setting=local');
    expect(out).toMatch(/Deleted deployment [0-9a-f]{64}\.0/);
  }
  // the composed OS: re-compose imports one package, db diff shows it, rpm reads the rpmdb
  expect(out).toContain('post ran with arg 1;');
  expect(out).toContain('Importing packages (1)...');
  expect(out).toMatch(/^Upgraded:\n {2}sed 4\.9-\S+ -> 4\.9-\S+\.1$/m);
  expect(out).toMatch(/^\(rpm -qa: the 20 composed packages, sed-4\.9-\S+\.1\.x86_64 among them\)$/m);
  expect(out).toContain('Demo completed.');
}, 620_000);
