// File capabilities: rpm's FILECAPS text (`cap_net_raw=ep`, `cap_chown,cap_kill+ep`, as
// cap_to_text/cap_from_text write them) turned into the `security.capability` xattr value the kernel
// reads (struct vfs_cap_data revision 2: magic|flags, then permitted/inheritable low and high words,
// little-endian). rpm-ostree stores the same xattr when it applies a header's file caps.

import { XylemError } from '../util/errors.ts';

const NAMES = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
  'linux_immutable', 'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner',
  'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice',
  'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap',
  'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf',
  'checkpoint_restore',
];
const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;

/** Encodes capability text as a `security.capability` value. `what` names the file in errors. */
export function encodeFileCaps(text: string, what: string): Uint8Array {
  let permitted = 0n;
  let inheritable = 0n;
  let effective = false;
  const bad = () => new XylemError(`${what}: cannot parse file capabilities '${text}'`, 'EINVAL');
  for (const clause of text.trim().split(/\s+/)) {
    if (clause === '') continue;
    const m = /^([a-z0-9_,]*)([=+-])([eip]*)((?:[+-][eip]+)*)$/i.exec(clause);
    if (!m) throw bad();
    let set = 0n;
    const names = m[1]!.toLowerCase();
    if (names === '' || names === 'all') set = (1n << BigInt(NAMES.length)) - 1n;
    else
      for (const n of names.split(',')) {
        const i = NAMES.indexOf(n.replace(/^cap_/, ''));
        if (i < 0) throw bad();
        set |= 1n << BigInt(i);
      }
    const ops: Array<[string, string]> = [[m[2]!, m[3]!]];
    for (const x of m[4]!.match(/[+-][eip]+/gi) ?? []) ops.push([x[0]!, x.slice(1)]);
    for (const [op, flags] of ops) {
      if (op === '=') {
        permitted &= ~set;
        inheritable &= ~set;
      }
      const add = op !== '-';
      for (const f of flags.toLowerCase()) {
        if (f === 'p') permitted = add ? permitted | set : permitted & ~set;
        else if (f === 'i') inheritable = add ? inheritable | set : inheritable & ~set;
        else if (f === 'e') effective = add;
      }
    }
  }
  const out = new Uint8Array(20);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, VFS_CAP_REVISION_2 | (effective ? VFS_CAP_FLAGS_EFFECTIVE : 0), true);
  dv.setUint32(4, Number(permitted & 0xffffffffn), true);
  dv.setUint32(8, Number(inheritable & 0xffffffffn), true);
  dv.setUint32(12, Number(permitted >> 32n), true);
  dv.setUint32(16, Number(inheritable >> 32n), true);
  return out;
}
