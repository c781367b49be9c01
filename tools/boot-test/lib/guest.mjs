// Running the machine in qemu and reading what its guest reports: the command line (kernel,
// initramfs and options from the BLS entry; the disk on virtio; serial 0 the console, serial 1 the
// probe of tools/boot-test/guest/probe.sh) and the probe's XYLEM-CI-BEGIN … XYLEM-CI-END report.

/**
 * qemu-system-x86_64's arguments. `kvm`: -enable-kvm -cpu host, one vCPU (else TCG, -cpu max, two).
 * `cache`: the drive's cache mode (qemu's default when absent).
 */
export function qemuArgs({ kernel, initrd, append, disk, consoleLog, probeLog, kvm = false, cache = null }) {
  return [
    ...(kvm ? ['-enable-kvm', '-cpu', 'host'] : ['-cpu', 'max']),
    '-machine', 'q35', '-m', '1536', '-smp', kvm ? '1' : '2', '-nodefaults', '-display', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', initrd, '-append', append,
    '-drive', `file=${disk},format=raw,if=virtio${cache ? `,cache=${cache}` : ''}`,
    '-serial', `file:${consoleLog}`, '-serial', `file:${probeLog}`,
    '-nic', 'user,model=virtio-net-pci',
  ];
}

/**
 * The probe's report in `probe` (serial 1's text): its lines, whether BEGIN and END were both seen,
 * the body between them (everything when BEGIN is missing, up to the end when END is), and
 * `field(k)`: the rest of the body's first line starting `k `.
 */
export function probeReport(probe) {
  const lines = probe.split(/\r?\n/);
  const begin = lines.indexOf('XYLEM-CI-BEGIN');
  const end = lines.indexOf('XYLEM-CI-END');
  const body = begin === -1 ? lines : lines.slice(begin + 1, end === -1 ? undefined : end);
  const field = (k) => body.find((l) => l.startsWith(k + ' '))?.slice(k.length + 1) ?? '';
  return { lines, begin, end, complete: begin !== -1 && end !== -1, body, field };
}
