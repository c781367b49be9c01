// Crash-test child (bundled by crash-kill.test.ts): runs one sysroot step — deploy, upgrade or
// finalize-staged, as the admin commands do — through a host that SIGKILLs this very process
// just before its Nth filesystem mutation (a deterministic "machine died here"). Without a kill
// point it prints how many mutations the step made.
//
// Usage: kill-runner OP SYSROOT KILL_AT|0 [REVISION]   (OP: deploy | upgrade | finalize)

import { createNodeHost } from '../../runtimes/node/index.ts';
import type { FsHost } from '../../src/host.ts';
import { KeyFile } from '../../src/format/keyfile.ts';
import { Sysroot, cleanupSysroot, deployTree, finalizeStaged, simpleWriteDeployment, upgrade } from '../../src/sysroot/index.ts';

const MUTATING = new Set(['writeFile', 'openWrite', 'rename', 'link', 'symlink', 'unlink', 'rmdir', 'rmrf', 'mkdir', 'chmod', 'lchown', 'copyFile', 'lutimes', 'mkWhiteout']);

async function main(): Promise<void> {
  const [op, sysrootPath, killAtArg, revision] = process.argv.slice(2);
  const killAt = Number(killAtArg);
  if (!op || !sysrootPath || !Number.isInteger(killAt)) throw new Error('usage: kill-runner OP SYSROOT KILL_AT [REVISION]');
  const base = createNodeHost();
  let n = 0;
  const fs = new Proxy(base.fs, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function') return v;
      if (!MUTATING.has(String(prop))) return v.bind(target);
      return (...args: unknown[]) => {
        n++;
        if (killAt > 0 && n >= killAt) process.kill(process.pid, 'SIGKILL');
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as FsHost;
  const host = { ...base, fs, env: { ...process.env } };
  const sysroot = await Sysroot.load(host, sysrootPath);
  if (op === 'deploy') {
    const merge = sysroot.mergeDeployment('testos');
    await cleanupSysroot(sysroot, { prune: false });
    const origin = KeyFile.parse(`[origin]\nrefspec=${revision}\n`);
    const d = await deployTree(sysroot, { osname: 'testos', revision: revision!, origin, mergeDeployment: merge });
    await simpleWriteDeployment(sysroot, 'testos', d, merge);
  } else if (op === 'upgrade') {
    await upgrade(sysroot, { osname: 'testos' });
  } else if (op === 'finalize') {
    await finalizeStaged(sysroot);
  } else throw new Error(`unknown op ${op}`);
  process.stdout.write(`mutations ${n}\n`);
}

main().catch((e) => {
  process.stderr.write(`kill-runner: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
