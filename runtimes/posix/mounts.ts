// The posix MountHost: overlayfs mounts on the running system through mount(8) — what libostree's
// `ostree admin unlock` does with mount(2) in a forked child (ostree_sysroot_deployment_unlock) —
// and the mount table read from /proc/self/mountinfo. mount(8) is looked up on PATH at each call
// (after an overlay on /usr it is the overlay's own mount). Needs CAP_SYS_ADMIN.

import type * as ChildProcess from 'node:child_process';
import type * as Fs from 'node:fs/promises';
import type { MountHost, MountInfo, OverlayMountRequest } from '../../src/host.ts';
import { lazyBuiltin } from './builtin.ts';

const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');
const fsp = lazyBuiltin<typeof Fs>('node:fs/promises');

/** mount(8)'s -o list cannot carry these in a path (overlayfs splits on ',' and ':'). */
function checkPath(what: string, p: string): void {
  if (typeof p !== 'string' || !p.startsWith('/') || /[,:\\\n\0]/.test(p)) throw new Error(`overlay mount: the ${what} path ${JSON.stringify(p)} must be absolute, without ',' ':' '\\' or newlines`);
}

function runMount(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    childProcess().execFile('mount', args, { encoding: 'utf8', timeout: 60_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`mount ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve();
    });
  });
}

/** /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo; the topmost mount at `target` is the last one listed there. */
export function parseMountinfo(text: string, target: string): MountInfo | null {
  let found: MountInfo | null = null;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || sep + 1 >= f.length) continue;
    if (unescape(f[4]!) !== target) continue;
    const opts = f[5]!.split(',');
    found = { fstype: f[sep + 1]!, readOnly: opts.includes('ro'), options: unescape(f[sep + 3] ?? '') };
  }
  return found;
}

export function createPosixMounts(): MountHost {
  return {
    async overlay(req: OverlayMountRequest): Promise<void> {
      checkPath('lower', req.lower);
      checkPath('upper', req.upper);
      checkPath('work', req.work);
      checkPath('target', req.target);
      const opts = `${req.readOnly ? 'ro,' : ''}lowerdir=${req.lower},upperdir=${req.upper},workdir=${req.work}`;
      await runMount(['-t', 'overlay', 'overlay', '-o', opts, req.target]);
    },
    async remount(target: string, readOnly: boolean): Promise<void> {
      checkPath('target', target);
      await runMount(['-o', `remount,${readOnly ? 'ro' : 'rw'}`, target]);
    },
    async info(target: string): Promise<MountInfo | null> {
      const text = await fsp().readFile('/proc/self/mountinfo', 'utf8');
      return parseMountinfo(text, target);
    },
  };
}
