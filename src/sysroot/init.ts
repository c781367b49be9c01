// Creating a sysroot (`ostree admin init-fs`) and a stateroot (`ostree admin os-init`): the
// directory skeleton, the bare system repository, and a stateroot's shared /var.

import type { Host } from '../host.ts';
import { Repo } from '../repo/repo.ts';
import { joinPath } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { ensureDir } from './fsutil.ts';
import { validateOsname } from './deployment.ts';

export interface InitFsOptions {
  /** `--modern`: only boot/ and ostree/ (no FHS top-level folders). */
  modern?: boolean;
  /** `--epoch`: the sysroot layout version (only 1 exists). */
  epoch?: number;
}

/** Top-level folders of a classic sysroot and their modes. */
const FHS_DIRS: Array<[string, number]> = [
  ['boot', 0o755],
  ['dev', 0o755],
  ['home', 0o755],
  ['proc', 0o755],
  ['run', 0o755],
  ['sys', 0o755],
  ['root', 0o700],
  ['tmp', 0o1777],
];

/** Creates the skeleton of a sysroot in the existing folder `path`. */
export async function initFs(host: Host, path: string, opts: InitFsOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new XylemError('init-fs: a path is required');
  if (opts.epoch !== undefined && opts.epoch !== 1) throw new XylemError(`Invalid epoch ${opts.epoch}`);
  const fs = host.fs;
  const st = await fs.stat(path);
  if (!st) throw new XylemError(`opendir(${path}): No such file or directory`);
  if (st.kind !== 'dir') throw new XylemError(`opendir(${path}): Not a directory`);
  const dirs: Array<[string, number]> = opts.modern ? [['boot', 0o755]] : FHS_DIRS;
  for (const [name, mode] of dirs) {
    const p = joinPath(path, name);
    await ensureDir(fs, p, mode);
    if (mode & 0o7000) await fs.chmod(p, mode);
  }
  await ensureDir(fs, joinPath(path, 'ostree'));
  await ensureDir(fs, joinPath(path, 'ostree/deploy'));
  await Repo.init(host, joinPath(path, 'ostree/repo'), { mode: 'bare' });
}

/** Creates ostree/deploy/OSNAME with its /var skeleton; fails when it already exists. */
export async function initStateroot(host: Host, sysrootPath: string, osname: string): Promise<void> {
  validateOsname(osname);
  const fs = host.fs;
  if (!(await fs.stat(joinPath(sysrootPath, 'ostree/deploy'))))
    throw new XylemError(`opendir(${sysrootPath}): No such file or directory`);
  const rel = `ostree/deploy/${osname}`;
  const dir = joinPath(sysrootPath, rel);
  try {
    await fs.mkdir(dir, { mode: 0o755 });
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') throw new XylemError(`Creating ${rel}: File exists`);
    throw e;
  }
  await fs.mkdir(joinPath(dir, 'var'), { mode: 0o755 });
  for (const d of ['var/lib', 'var/log']) await fs.mkdir(joinPath(dir, d), { mode: 0o755 });
  await fs.mkdir(joinPath(dir, 'var/tmp'), { mode: 0o1777 });
  await fs.chmod(joinPath(dir, 'var/tmp'), 0o1777);
  await fs.symlink('../run/lock', joinPath(dir, 'var/lock'));
  await fs.symlink('../run', joinPath(dir, 'var/run'));
  await fs.fsyncDir(joinPath(sysrootPath, 'ostree/deploy'));
}
