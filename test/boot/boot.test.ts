// The real boot (issue 14) inside `npm test`: runs tools/boot-test/run.mjs — a Debian OS committed
// and deployed by xylem, booted in qemu from the BLS entry xylem wrote, upgraded in the guest under
// Node (staged, finalized at shutdown by Xylem's own unit), rolled back under Bun, a broken
// upgrade survived by choosing the previous entry — and checks that every boot reported the
// deployment the sequence expects. Needs qemu, mmdebstrap (and Debian's mirror, the first time per
// machine: the OS tree is cached), e2fsprogs and gpg; under CI=true a missing one fails the run.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { missing } from '../helpers/require-tool.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const tools = {
  'qemu-system-x86_64': hasCommand('qemu-system-x86_64'),
  mmdebstrap: hasCommand('mmdebstrap'),
  'mkfs.ext4': hasCommand('mkfs.ext4'),
  debugfs: hasCommand('debugfs'),
  gpg: hasCommand('gpg'),
};

describe.skipIf(missing('the boot test', tools))('a machine booted, upgraded and rolled back by xylem', () => {
  it('boots each deployment the update cycle expects', { timeout: 60 * 60_000 }, () => {
    const r = spawnSync('node', [join(ROOT, 'tools/boot-test/run.mjs')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    process.stderr.write(r.stderr.split('\n').filter((l) => l.startsWith('boot-test')).join('\n') + '\n');
    expect(r.status, r.stderr.slice(-4000)).toBe(0);
    const booted = r.stdout.split('\n').filter((l) => l.startsWith('booted '));
    // boots 1, 2, 3 and 5 come up (4 is the broken deployment); 1, 3 and 5 are A, 2 is B
    expect(booted).toHaveLength(4);
    const deployments = booted.map((l) => l.split(' ')[1]);
    for (const d of deployments) expect(d).toMatch(/^[0-9a-f]{64}\.\d+$/);
    expect(deployments[0]).toBe(deployments[2]);
    expect(deployments[0]).toBe(deployments[3]);
    expect(deployments[1]).not.toBe(deployments[0]);
    for (const l of booted) expect(l).toMatch(/ cmdline=\S*.* ostree=\/ostree\/boot\.[01]\/debian\/[0-9a-f]{64}\/\d /);
  });
});
