// `xylem --version`: xylem's own block first, then ostree's YAML block (the upstream test suite
// reads `libostree.Version` and greps the feature list, so it lists only what xylem really has).

export const XYLEM_VERSION = '0.1.0';
/** The libostree release whose behaviour xylem matches. */
export const OSTREE_COMPAT_VERSION = '2022.7';

export const FEATURES: string[] = ['gpgme', 'sign-ed25519'];

export function versionText(): string {
  const lines = ['xylem:', ` Version: '${XYLEM_VERSION}'`, 'libostree:', ` Version: '${OSTREE_COMPAT_VERSION}'`, ' Features:'];
  for (const f of FEATURES) lines.push(`  - ${f}`);
  return lines.join('\n') + '\n';
}
