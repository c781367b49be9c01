// The error every refusal of the RPM reader raises: a XylemError whose message names the package
// (its file name or NEVRA, as the caller called it) and what is wrong, with a stable code per kind
// of problem and the two parts kept as data so a CLI can render them without parsing.

import { XylemError } from '../util/errors.ts';

/** What kind of problem an RpmError reports. */
export const RpmErrorCode = {
  /** Lead, header intro, index entries or tag data malformed, or a tag of the wrong type. */
  HEADER: 'ERPM_HEADER',
  /** A size, count or total past a cap (il/dl, decompressed bytes, file sizes). */
  CAP: 'ERPM_CAP',
  /** The compressed payload cannot be decoded. */
  PAYLOAD: 'ERPM_PAYLOAD',
  /** The cpio archive is malformed or disagrees with the header. */
  CPIO: 'ERPM_CPIO',
  /** A path that escapes (`..`, absolute after `./`, through a symlink). */
  PATH: 'ERPM_PATH',
  /** A digest (header, payload or file) does not match. */
  DIGEST: 'ERPM_DIGEST',
  /** The data ends before the format says it should. */
  TRUNCATED: 'ERPM_TRUNCATED',
  /** Something this reader does not implement (a compressor, a payload format). */
  UNSUPPORTED: 'ERPM_UNSUPPORTED',
} as const;
export type RpmErrorCodeValue = (typeof RpmErrorCode)[keyof typeof RpmErrorCode];

export class RpmError extends XylemError {
  /** The package as the caller named it. */
  readonly pkg: string;
  /** What is wrong, without the package name. */
  readonly reason: string;
  constructor(code: RpmErrorCodeValue, pkg: string, reason: string) {
    super(`${pkg}: ${reason}`, code);
    this.name = 'RpmError';
    this.pkg = pkg;
    this.reason = reason;
  }
}
