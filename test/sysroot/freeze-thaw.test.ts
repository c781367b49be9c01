// The posix host's freezeThaw (used after the boot loader swap on a running system): on a real
// ext4 filesystem, a rename made durable by fsync of its directory (what the swap does) is only in
// the journal, so the disk as a boot loader reads it (debugfs -c: no journal replay, as GRUB) does
// not show it yet; after freezeThaw (syncfs + FIFREEZE/FITHAW) it does. A filesystem that cannot freeze (tmpfs) only syncs.
// Needs root, loop mounts, mkfs.ext4 and debugfs (e2fsprogs).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { missing } from '../helpers/require-tool.ts';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const ROOT = process.getuid?.() === 0;
const host = createNodeHost();

describe.skipIf(missing('freeze/thaw on a loop-mounted ext4', { root: ROOT, 'mkfs.ext4': has('mkfs.ext4'), debugfs: has('debugfs'), python3: has('python3') }))('freezeThaw', () => {
  let dir: string;
  let img: string;
  let mnt: string;
  let mounted = false;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-freeze-'));
    img = join(dir, 'boot.img');
    mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    expect(spawnSync('truncate', ['-s', '64M', img]).status).toBe(0);
    expect(spawnSync('mkfs.ext4', ['-q', img]).status).toBe(0);
    const m = spawnSync('mount', ['-o', 'loop', img, mnt], { encoding: 'utf8' });
    expect(m.status, `mount -o loop: ${m.stderr}`).toBe(0);
    mounted = true;
  });
  afterAll(() => {
    if (mounted) spawnSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  });
  /** The root directory as the image holds it without replaying the journal. */
  const unreplayedRoot = () => spawnSync('debugfs', ['-c', '-R', 'ls -l /', img], { encoding: 'utf8' }).stdout;

  it('a rename made durable by fsync reaches the unreplayed disk only after freezeThaw', async () => {
    writeFileSync(join(mnt, 'loader.tmp'), 'entries\n');
    await host.fs.syncfs!(mnt);
    expect(unreplayedRoot()).toContain('loader.tmp');
    await host.fs.rename(join(mnt, 'loader.tmp'), join(mnt, 'loader-swapped'));
    await host.fs.fsyncDir(mnt);
    // durable in the journal, not yet where a journal-blind reader looks
    expect(unreplayedRoot()).not.toContain('loader-swapped');
    await host.fs.freezeThaw!(mnt);
    expect(unreplayedRoot()).toContain('loader-swapped');
    // and the filesystem is thawed: writes go on
    writeFileSync(join(mnt, 'after'), 'x');
    await host.fs.syncfs!(mnt);
  });

  it('a filesystem that cannot freeze (tmpfs) is only synced; a missing path is an error naming it', async () => {
    await expect(host.fs.freezeThaw!('/dev/shm')).resolves.toBeUndefined();
    await expect(host.fs.freezeThaw!(join(dir, 'nope'))).rejects.toThrow(/nope/);
  });
});
