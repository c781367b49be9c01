// `xylem --version`: ostree's YAML shape, listing only features xylem really has (the upstream
// test suite gates cases on this list).

export const XYLEM_VERSION = '0.1.0';
/** The libostree release whose behaviour xylem matches. */
export const OSTREE_COMPAT_VERSION = '2022.7';

export const FEATURES: string[] = ['gpgme', 'sign-ed25519'];

export function versionText(): string {
  const lines = ['libostree:', ` Version: '${OSTREE_COMPAT_VERSION}'`, ' Features:'];
  for (const f of FEATURES) lines.push(`  - ${f}`);
  lines.push('xylem:', ` Version: '${XYLEM_VERSION}'`);
  return lines.join('\n') + '\n';
}
