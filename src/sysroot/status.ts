// `ostree admin status` text: one block per deployment, default first — "* " marks the booted
// one, (staged)/(pending)/(rollback) annotate the others when booted — with Version, Pinned, origin
// refspec and the commit's source title, then its GPG signature lines (or, with --verify, the
// signature verification report).

import type { Deployment } from './deployment.ts';
import { deploymentsEqual, isPinned } from './deployment.ts';
import { commitStringMeta, type Sysroot } from './sysroot.ts';
import { statusGpgLines, statusVerifyText } from '../sign/deployment-status.ts';
import { deploymentUnlockedState } from './unlock.ts';

export interface StatusOptions {
  /** `--verify`: print each commit's signature verification (failing without a valid one). */
  verify?: boolean;
}

export async function formatStatus(sysroot: Sysroot, opts: StatusOptions = {}): Promise<string> {
  if (sysroot.deployments.length === 0) return 'No deployments.\n';
  const repo = await sysroot.repo();
  let pending: Deployment | null = null;
  let rollback: Deployment | null = null;
  if (sysroot.booted) ({ pending, rollback } = sysroot.queryDeploymentsFor(null));
  let s = '';
  for (const d of sysroot.deployments) {
    const booted = deploymentsEqual(d, sysroot.booted);
    const note = d.staged ? ' (staged)' : deploymentsEqual(d, pending) ? ' (pending)' : deploymentsEqual(d, rollback) ? ' (rollback)' : '';
    s += `${booted ? '*' : ' '} ${d.osname} ${d.csum}.${d.deployserial}${note}\n`;
    const version = await commitStringMeta(repo, d.csum, 'version');
    if (version) s += `    Version: ${version}\n`;
    const unlocked = await deploymentUnlockedState(sysroot, d);
    if (unlocked !== 'none') s += `    Unlocked: ${unlocked}\n`;
    if (isPinned(d)) s += '    Pinned: yes\n';
    if (!d.origin) s += '    origin: none\n';
    else {
      const refspec = d.origin.get('origin', 'refspec');
      if (!refspec) s += '    origin: <unknown origin type>\n';
      else {
        s += `    origin refspec: ${refspec}\n`;
        const title = await commitStringMeta(repo, d.csum, 'ostree.source-title');
        if (title) s += `    \`- ${title}\n`;
      }
    }
    const subject = { osname: d.osname, csum: d.csum, refspec: d.origin ? (d.origin.get('origin', 'refspec') ?? null) : undefined };
    if (opts.verify) s += `${await statusVerifyText(repo, subject)}\n`;
    else s += await statusGpgLines(repo, subject);
  }
  return s;
}
