// A deployment: one checked-out commit of a stateroot (ostree/deploy/OSNAME/deploy/CSUM.SERIAL)
// with its origin keyfile and boot configuration, and the naming rules around it.

import type { KeyFile } from '../format/keyfile.ts';
import { BootConfig } from './bootconfig.ts';
import { XylemError } from '../util/errors.ts';

export interface Deployment {
  /** Position in the boot order (0 = default). */
  index: number;
  osname: string;
  /** Commit checksum. */
  csum: string;
  /** Tells deployments of the same commit apart (CSUM.SERIAL). */
  deployserial: number;
  /** sha256 of kernel ‖ initramfs (‖ devicetree): names boot/ostree/OSNAME-BOOTCSUM. */
  bootcsum: string;
  /** Position among the deployments sharing osname and bootcsum (the last part of ostree=). */
  bootserial: number;
  /** The deployment's boot loader entry (options = kernel arguments). */
  bootconfig: BootConfig;
  /** The .origin keyfile, null when the file is missing. */
  origin: KeyFile | null;
  /** sha256 checksums of its overlay initrds (overlay-initrd.ts), in boot order; absent: none. */
  overlayInitrds?: string[];
  /** Staged: written but not in the boot set until `finalize-staged` (see staged.ts). */
  staged?: boolean;
}

const OSNAME_RE = /^[A-Za-z0-9_.-]+$/;

/** Stateroot names become directory names: no slashes, no dot-dot, not empty. */
export function validateOsname(osname: string): void {
  if (typeof osname !== 'string' || !OSNAME_RE.test(osname) || osname === '.' || osname === '..')
    throw new XylemError(`Invalid osname '${osname}'`);
}

/** Parses a deployment directory name `CSUM.SERIAL` (null when it is not one). */
export function parseDeployDirName(name: string): { csum: string; deployserial: number } | null {
  const m = /^([0-9a-f]{64})\.(\d{1,9})$/.exec(name);
  if (!m) return null;
  return { csum: m[1]!, deployserial: Number(m[2]) };
}

/** Path of a deployment root relative to the sysroot. */
export function deploymentRelPath(d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): string {
  return `ostree/deploy/${d.osname}/deploy/${d.csum}.${d.deployserial}`;
}

/** Path of a deployment's origin file relative to the sysroot. */
export function originRelPath(d: Pick<Deployment, 'osname' | 'csum' | 'deployserial'>): string {
  return `${deploymentRelPath(d)}.origin`;
}

/** Same osname, commit and serial (libostree's ostree_deployment_equal). */
export function deploymentsEqual(a: Deployment | null | undefined, b: Deployment | null | undefined): boolean {
  if (!a || !b) return false;
  return a.osname === b.osname && a.csum === b.csum && a.deployserial === b.deployserial;
}

/** Whether `ostree admin pin` marked it (kept across upgrades). */
export function isPinned(d: Deployment): boolean {
  return d.origin?.getBoolean('libostree-transient', 'pinned') === true;
}

/** The origin's refspec, if it has one. */
export function originRefspec(d: Deployment): string | null {
  return d.origin?.get('origin', 'refspec') ?? null;
}

/**
 * ostree_validate_checksum_string's messages: "Invalid rev X" for a wrong length (X cut to 64
 * characters, newlines blanked), "Invalid character 'N' in rev 'X'" for a non-lowercase-hex byte.
 */
export function checksumProblem(s: string): string | null {
  const bytes = new TextEncoder().encode(s);
  if (bytes.length !== 64) return `Invalid rev ${[...s].slice(0, 64).join('').replace(/\n/g, ' ')}`;
  for (const c of bytes) if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return `Invalid character '${c}' in rev '${s}'`;
  return null;
}

/**
 * The origin's `override-commit` (null when unset), refused unless it is a checksum — as
 * libostree's upgrader does when it reads an origin — with an error naming `originPath`.
 */
export function originOverrideCommit(origin: KeyFile, originPath: string): string | null {
  const v = origin.get('origin', 'override-commit');
  if (v === undefined || v === null) return null;
  const problem = checksumProblem(v);
  if (problem) throw new XylemError(`${originPath}: origin/override-commit: ${problem}`);
  return v;
}
