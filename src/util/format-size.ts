// Human-readable sizes as ostree prints them: GLib's g_format_size (SI units, powers of 1000,
// one decimal, a no-break space before the unit; "N bytes" below 1000). One implementation for
// pull progress, prune, static-delta show, the /boot space check and the audit page.

const UNITS = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** g_format_size(n): "1 byte", "999 bytes", "1.0\u00a0kB", "740.2\u00a0kB", "1.5\u00a0GB". */
export function formatSize(n: number | bigint): string {
  if (typeof n === 'bigint') {
    if (n < 1000n) return n === 1n ? '1 byte' : `${n} bytes`;
    n = Number(n);
  } else if (typeof n !== 'number' || Number.isNaN(n)) {
    throw new TypeError(`formatSize: a byte count is required, got ${String(n)}`);
  }
  if (n < 1000) return n === 1 ? '1 byte' : `${n} bytes`;
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)}\u00a0${UNITS[i]}`;
}
