// The posix adapter's public surface: fs over node:fs/promises plus native hash and deflate.

export { createPosixFs, kindOfMode } from './fs.ts';
export type { PosixFsOptions } from './fs.ts';
export { nodeHashProvider } from './hash.ts';
export { nodeDeflateProvider } from './deflate.ts';
export { errnoError } from './errors.ts';
export { createLibcXattrs } from './xattr-libc.ts';
export type { LibcXattrCalls } from './xattr-libc.ts';
export { loadNapiXattrs } from './xattr-napi.ts';
export type { XattrLoad } from './xattr-napi.ts';
export { assemblePosixHost } from './host.ts';
export { createPosixLocks } from './locks.ts';
export type { RuntimeHost, RuntimeName } from './host.ts';
export { createBwrapSandbox, bwrapArgs, SCRIPT_CAPABILITIES } from './sandbox.ts';
export { createPosixMounts, parseMountinfo } from './mounts.ts';
