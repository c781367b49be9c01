// The immutable flag (FS_IMMUTABLE_FL, `chattr +i`) that libostree puts on deployment roots so
// nothing renames or deletes them by accident. Node has no ioctl(2), so e2fsprogs' chattr makes
// the FS_IOC_GETFLAGS/FS_IOC_SETFLAGS calls. As libostree's _ostree_linuxfs_fd_alter_immutable_flag,
// "not supported here" (EOPNOTSUPP, ENOTTY: tmpfs, overlayfs…) and "not allowed" (EPERM: not
// root) are answered with false, not an error.

import { errnoError } from './errors.ts';

/** chattr's messages (strerror text under LC_ALL=C) for the errors libostree tolerates. */
const TOLERATED = /Operation not supported|Inappropriate ioctl for device|Operation not permitted/;

/**
 * Sets (`immutable` true) or clears the flag on `path` (a directory or regular file). Resolves
 * true when the flag is now as asked, false when the file system or the process cannot change
 * it (or chattr is not installed). A missing path rejects with ENOENT.
 */
export async function setImmutableFlag(path: string, immutable: boolean): Promise<boolean> {
  if (typeof path !== 'string' || path === '') throw new TypeError('setImmutable: path must be a non-empty string');
  const { execFile } = await import('node:child_process');
  return new Promise<boolean>((resolve, reject) => {
    execFile(
      'chattr',
      [immutable ? '+i' : '-i', '--', path],
      { env: { ...process.env, LC_ALL: 'C' }, timeout: 60_000, encoding: 'utf8' },
      (err, _stdout, stderr) => {
        if (!err) return resolve(true);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !stderr) return resolve(false); // no chattr here
        if (TOLERATED.test(stderr)) return resolve(false);
        if (/No such file or directory/.test(stderr)) return reject(errnoError('ENOENT', 'chattr', path));
        reject(new Error(`chattr ${immutable ? '+i' : '-i'} '${path}' failed: ${stderr.trim() || err.message}`));
      },
    );
  });
}
