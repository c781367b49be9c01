// The 96-byte lead that opens every .rpm file (rpm's struct rpmlead): magic ED AB EE DB, format
// major/minor, package type, arch and OS numbers, a NUL-padded `name-version-release` and the
// signature type. Only the magic and the signature type (5 = header-style signature) matter to
// rpm today; the rest is kept for display. See rpm docs/manual/format_lead.md.

import { RpmError, RpmErrorCode } from './errors.ts';

export const LEAD_SIZE = 96;
export const LEAD_MAGIC = [0xed, 0xab, 0xee, 0xdb] as const;

export interface RpmLead {
  /** 3 for v4 packages, 4 for v6. */
  major: number;
  minor: number;
  /** 0 binary, 1 source. */
  type: number;
  archnum: number;
  /** The NUL-padded name field (`name-version-release`), informational only. */
  name: string;
  osnum: number;
  signatureType: number;
}

/** Parses and checks a lead (magic, a known major version, header-style signature). */
export function parseLead(bytes: Uint8Array, pkg: string): RpmLead {
  if (bytes.length < LEAD_SIZE) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, `file is shorter than an rpm lead (${bytes.length} bytes)`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== LEAD_MAGIC[i]) throw new RpmError(RpmErrorCode.HEADER, pkg, 'not an rpm package (bad lead magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, LEAD_SIZE);
  const major = bytes[4]!;
  if (major < 3 || major > 4) throw new RpmError(RpmErrorCode.UNSUPPORTED, pkg, `unsupported rpm lead version ${major}.${bytes[5]}`);
  const signatureType = dv.getUint16(78);
  if (signatureType !== 5) throw new RpmError(RpmErrorCode.UNSUPPORTED, pkg, `unsupported signature type ${signatureType} in the lead`);
  const nameBytes = bytes.subarray(10, 76);
  const z = nameBytes.indexOf(0);
  let name = '';
  for (const c of nameBytes.subarray(0, z < 0 ? 66 : z)) name += String.fromCharCode(c);
  return { major, minor: bytes[5]!, type: dv.getUint16(6), archnum: dv.getUint16(8), name, osnum: dv.getUint16(76), signatureType };
}
