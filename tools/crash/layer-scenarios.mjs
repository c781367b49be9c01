// The crash campaign's package-layering scenarios (rpm-xylem, unbooted, --sysroot): install of a
// package with a dependency and scripts, uninstall, override remove, override replace with a local
// .rpm, and upgrade of a layered deployment onto a new base (which re-layers). Each copies a
// sysroot of the layering fixture (tools/crash/layer-fixture.mjs). After a kill: the sysroot
// guarantees of checks.mjs (`ostree fsck`, `ostree admin status`, complete boot entries), the
// deployment we started from still deployed, and `rpm-xylem status` works. After the re-run: the
// new default deployment holds exactly the expected packages (`rpm -qa --dbpath` on it).

import { join } from 'node:path';
import { sysrootOk } from './checks.mjs';
import { exec, must } from './proc.mjs';
import { BASE_RPMS, LIBVIRT_RPMS, copyTree, rpmQa } from './layer-fixture.mjs';

function sameList(what, got, want) {
  if (got.join(' ') !== [...want].sort().join(' ')) throw new Error(`${what}: got ${got.join(' ')}, want ${[...want].sort().join(' ')}`);
}

/**
 * A layering scenario: `from(lx)` names the fixture sysroot and its default deployment,
 * `args(lx)` the rpm-xylem command line (run the same way again after a kill, so every command is
 * one a user can repeat: --idempotent where rpm-ostree has it), `want` the packages at the end.
 */
function layerScenario(name, from, args, want, extra = async () => undefined) {
  return {
    name,
    booted: false,
    layer: true,
    prepare(fx, dir) {
      const sysroot = join(dir, 'sysroot');
      const [src, startDep] = from(fx.layer);
      copyTree(src, sysroot);
      return { dir, sysroot, startDep };
    },
    command(fx, st, ctx, env) {
      return [process.execPath, [ctx.rpmCli, ...args(fx.layer), `--sysroot=${st.sysroot}`], env];
    },
    async afterKill(fx, st, ctx) {
      const list = await sysrootOk(st.sysroot);
      if (!list.includes(st.startDep)) throw new Error(`the deployment we started from (${st.startDep}) is gone: ${list.join(' ')}`);
      const r = await exec(process.execPath, [ctx.rpmCli, 'status', `--sysroot=${st.sysroot}`]);
      if (r.status !== 0) throw new Error(`rpm-xylem status failed after the kill (exit ${r.status}):\n${r.stderr}`);
    },
    async final(fx, st) {
      const list = await sysrootOk(st.sysroot);
      sameList('rpm -qa of the new default deployment', rpmQa(st.sysroot, list[0]), want);
      await extra(fx.layer, st, list);
    },
  };
}

const base = (lx) => [lx.sysroot, lx.baseDep];
const layered = (lx) => [lx.layered, lx.layeredDep];
const upgradable = (lx) => [lx.upgradable, lx.layeredDep];

export const LAYER_SCENARIOS = [
  layerScenario('layer-install', base, () => ['install', '--idempotent', 'libvirt'], [...BASE_RPMS, ...LIBVIRT_RPMS]),
  layerScenario('layer-uninstall', layered, () => ['uninstall', '--idempotent', 'libvirt'], BASE_RPMS),
  layerScenario('layer-override-remove', base, () => ['override', 'remove', '--idempotent', 'docker'], BASE_RPMS.filter((p) => !p.startsWith('docker-'))),
  layerScenario('layer-override-replace', base, (lx) => ['override', 'replace', lx.iptables], BASE_RPMS.map((p) => p.replace('iptables-1.0-1', 'iptables-1.1-1'))),
  layerScenario('layer-upgrade', upgradable, () => ['upgrade'], [...BASE_RPMS.map((p) => p.replace('liba-1.0-1', 'liba-2.0-1')), ...LIBVIRT_RPMS], async (lx, st, list) => {
    const parent = must('ostree', [`--repo=${join(st.sysroot, 'ostree/repo')}`, 'rev-parse', `${list[0].split('.')[0]}^`]).trim();
    if (parent !== lx.base2) throw new Error(`the upgraded deployment is not layered on the new base: parent ${parent}, want ${lx.base2}`);
  }),
];
