// Host errors shaped like Node's fs errors: an Error whose `code` is the errno name (ENOENT,
// EEXIST, …) and whose message names the syscall and the path, whatever produced it.

import type { HostError } from '../../src/host.ts';

const DESCRIPTIONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  ENOTEMPTY: 'directory not empty',
  EINVAL: 'invalid argument',
  EPERM: 'operation not permitted',
  EACCES: 'permission denied',
  ELOOP: 'too many symbolic links encountered',
  EBUSY: 'resource busy or locked',
  EBADF: 'bad file descriptor',
  ENODATA: 'no data available',
  ERANGE: 'result too large',
  E2BIG: 'argument list too long',
  ENOSPC: 'no space left on device',
  EOPNOTSUPP: 'operation not supported',
  ENOTSUP: 'operation not supported',
  ENAMETOOLONG: 'name too long',
  EXDEV: 'cross-device link not permitted',
};

/** Builds an error like Node's: `ENOENT: no such file or directory, lstat '/x'`. */
export function errnoError(code: string, syscall: string, path: string, dest?: string): HostError {
  const what = DESCRIPTIONS[code] ?? 'system error';
  const where = dest === undefined ? `'${path}'` : `'${path}' -> '${dest}'`;
  const err = new Error(`${code}: ${what}, ${syscall} ${where}`) as HostError & {
    syscall: string;
    path: string;
    dest?: string;
  };
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  if (dest !== undefined) err.dest = dest;
  return err;
}

/**
 * Makes sure a caught runtime error mentions `path` (a few runtime calls, e.g. readFile on a
 * directory, report only the syscall). Keeps the original object, so `code` and the stack survive.
 */
export function withPath(err: unknown, path: string): unknown {
  if (err instanceof Error && !err.message.includes(path)) {
    err.message = `${err.message} '${path}'`;
    (err as { path?: string }).path ??= path;
  }
  return err;
}

/** The errno code of a caught error, if it has one. */
export function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? ((err as HostError).code ?? undefined) : undefined;
}

let errnoNames: Map<number, string> | undefined;

/**
 * Maps an errno number to its name using the runtime's os.constants.errno table (Linux values on
 * Linux), built once on first use. Unknown numbers become `E<number>`.
 */
export function errnoName(errno: number, table: Record<string, number>): string {
  if (errnoNames === undefined) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(table)) {
      // EWOULDBLOCK/EAGAIN and ENOTSUP/EOPNOTSUPP share numbers on Linux: keep the first listed.
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  return errnoNames.get(errno) ?? `E${errno}`;
}
