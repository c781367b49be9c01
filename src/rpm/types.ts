// The vocabulary the package half shares: package identity (NEVRA), dependencies with rpm's sense
// bits, and a package's dependency sets. The RPM reader (src/rpm), the rpm-md reader (src/rpmmd),
// the solver (src/solve), compose (src/compose) and layering all speak these types, so a package
// read from a .rpm file and one read from primary.xml look the same to the solver.

/** rpm's dependency sense bits (rpmds.h). Only the low four form the comparison. */
export const DepFlag = {
  LESS: 2,
  GREATER: 4,
  EQUAL: 8,
  /** LESS | GREATER | EQUAL */
  SENSEMASK: 14,
  POSTTRANS: 32,
  PREREQ: 64,
  PRETRANS: 128,
  INTERP: 256,
  SCRIPT_PRE: 512,
  SCRIPT_POST: 1024,
  SCRIPT_PREUN: 2048,
  SCRIPT_POSTUN: 4096,
  SCRIPT_VERIFY: 8192,
  FIND_REQUIRES: 16384,
  FIND_PROVIDES: 32768,
  TRIGGERIN: 1 << 16,
  TRIGGERUN: 1 << 17,
  TRIGGERPOSTUN: 1 << 18,
  MISSINGOK: 1 << 19,
  PREUNTRANS: 1 << 20,
  POSTUNTRANS: 1 << 21,
  RPMLIB: 1 << 24,
  TRIGGERPREIN: 1 << 25,
  KEYRING: 1 << 26,
  CONFIG: 1 << 28,
  META: 1 << 29,
} as const;

/**
 * One dependency as rpm stores it: a name (or a whole rich dependency such as
 * `(a or b)`, with flags 0 and no version), sense flags, and a version `[E:]V[-R]` ('' when none).
 */
export interface Dependency {
  name: string;
  flags: number;
  version: string;
}

/** A package's identity. `epoch` is null when the package has none (compares as 0). */
export interface Nevra {
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
}

/** The dependency sets of one package, as the header (or primary.xml) lists them. */
export interface PackageDependencies {
  provides: Dependency[];
  requires: Dependency[];
  conflicts: Dependency[];
  obsoletes: Dependency[];
  recommends: Dependency[];
  suggests: Dependency[];
  supplements: Dependency[];
  enhances: Dependency[];
}

/** `name-[E:]version-release.arch`, with the epoch shown only when it is set and not 0 (dnf's form). */
export function formatNevra(p: Nevra): string {
  return `${p.name}-${formatEvr(p)}.${p.arch}`;
}

/** `[E:]version-release`, the epoch shown only when set and not 0. */
export function formatEvr(p: { epoch: number | null; version: string; release: string }): string {
  const e = p.epoch !== null && p.epoch !== 0 ? `${p.epoch}:` : '';
  return `${e}${p.version}-${p.release}`;
}
