// Deploying a commit in one call, for library users: what `ostree admin deploy --os=OS REFSPEC`
// does — resolve the refspec in the sysroot's repo, create the deployment (merging /etc and the
// kernel arguments of the stateroot's current deployment), then publish the new boot set
// atomically with it as the default.

import { KeyFile } from '../format/keyfile.ts';
import { resolveRev } from '../repo/refs.ts';
import { XylemError } from '../util/errors.ts';
import { deployTree } from './deploy.ts';
import { validateOsname, type Deployment } from './deployment.ts';
import type { Sysroot } from './sysroot.ts';
import { simpleWriteDeployment } from './write.ts';

export interface DeployOptions {
  /** Stateroot to deploy into (default: the booted one). Create it with initStateroot first. */
  osname?: string;
  /** Kernel arguments replacing the merged ones (e.g. ['root=LABEL=root', 'quiet']). */
  kargs?: string[];
  /** Progress lines ("Copying /etc changes: …"). */
  out?: (line: string) => void;
}

/**
 * Deploys `refspec` (REMOTE:REF, REF or a commit checksum present in the sysroot's repo) as the
 * new default deployment; the origin records the refspec so that `upgrade()` can follow it.
 * The sysroot is reloaded afterwards.
 */
export async function deploy(sysroot: Sysroot, refspec: string, opts: DeployOptions = {}): Promise<Deployment> {
  if (typeof sysroot !== 'object' || sysroot === null || typeof sysroot.reload !== 'function') throw new TypeError('deploy: a Sysroot is required');
  if (typeof refspec !== 'string' || refspec === '') throw new TypeError('deploy: a refspec or commit checksum is required');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('deploy: options must be an object');
  if (opts.kargs !== undefined && (!Array.isArray(opts.kargs) || opts.kargs.some((k) => typeof k !== 'string')))
    throw new TypeError('deploy: options.kargs must be an array of strings');
  const osname = opts.osname ?? sysroot.booted?.osname;
  if (!osname) throw new XylemError('deploy: not booted into an OSTree system and no osname given');
  validateOsname(osname);
  const repo = await sysroot.repo();
  const revision = await resolveRev(repo, refspec);
  if (!revision) throw new XylemError(`deploy: refspec '${refspec}' not found in ${sysroot.abs('ostree/repo')}`);
  const origin = new KeyFile();
  origin.set('origin', 'refspec', refspec);
  const merge = sysroot.mergeDeployment(osname);
  const d = await deployTree(sysroot, { osname, revision, origin, mergeDeployment: merge, overrideKargs: opts.kargs ?? null, out: opts.out });
  await simpleWriteDeployment(sysroot, osname, d, merge, { out: opts.out });
  await sysroot.reload();
  return sysroot.deployments.find((x) => x.osname === d.osname && x.csum === d.csum && x.deployserial === d.deployserial) ?? d;
}
