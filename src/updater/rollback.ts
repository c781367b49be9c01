// Rolling back in one call, for library users: rpm-ostree's `rollback` — the previous deployment
// (or, with only a pending one, the booted one) becomes the default again — as a function over
// a loaded Sysroot, without a transaction record or a cancel token to manage.

import type { Deployment } from '../sysroot/deployment.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import { CancelToken } from './cancel.ts';
import { rollbackTxn } from './operations.ts';

export interface RollbackOptions {
  /** Stateroot (default: the booted one, else the only one). */
  osname?: string;
  /** Log lines ("Moving 'CSUM.0' to be first deployment"). */
  out?: (line: string) => void;
}

export interface RollbackResult {
  /** False when the rollback target already was the default. */
  changed: boolean;
  /** The deployment that is now the default. */
  deployment: Deployment | null;
}

/** Makes the rollback deployment the default; the sysroot is reloaded afterwards. */
export async function rollback(sysroot: Sysroot, opts: RollbackOptions = {}): Promise<RollbackResult> {
  if (typeof sysroot !== 'object' || sysroot === null || typeof sysroot.reload !== 'function') throw new TypeError('rollback: a Sysroot is required');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('rollback: options must be an object');
  if (opts.osname !== undefined && (typeof opts.osname !== 'string' || opts.osname === '')) throw new TypeError('rollback: options.osname must be a non-empty string');
  const r = await rollbackTxn({
    sysroot,
    token: new CancelToken(),
    out: opts.out ?? (() => undefined),
    progress: () => undefined,
    osname: opts.osname ?? null,
  });
  await sysroot.reload();
  return { changed: r.changed, deployment: r.changed ? (sysroot.deployments[0] ?? null) : (r.deployment ?? null) };
}
