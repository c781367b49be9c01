// `static-delta show`: a text description of a delta in the layout of ostree's
// ostree_cmd__private__()->ostree_static_delta_dump (sizes with g_format_size's units).

import type { Repo } from '../repo/repo.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { DEFAULT_MAX_PART_SIZE, loadSuperblock } from './apply.ts';
import { countOps } from './execute.ts';
import { decompressPart, parsePartPayload, payloadCap } from './part.ts';
import { deltaNameString, deltaRelDir, superblockKey, type DeltaName } from './paths.ts';
import { wasmXzDecoder, type XzDecoder } from './xz.ts';
import { formatSize } from '../util/format-size.ts';


function sized(label: string, n: bigint): string {
  return `${label}: ${n} (${formatSize(n)})\n`;
}

/** The description of delta `name` of `repo`. */
export async function showDelta(repo: Repo, name: DeltaName, xz: XzDecoder = wasmXzDecoder): Promise<string> {
  const dir = joinPath(repo.path, deltaRelDir(name.from, name.to));
  let data: Uint8Array;
  try {
    data = await repo.fs.readFile(joinPath(dir, 'superblock'));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new XylemError(`openat(${deltaRelDir(name.from, name.to)}/superblock): No such file or directory`);
    throw e;
  }
  const { superblock: sb, signed } = await loadSuperblock(data);
  let s = `Delta: ${deltaNameString(name)}\n`;
  s += `Signed: ${signed ? 'yes' : 'no'}\n`;
  s += sb.from === null ? 'From <scratch>\n' : `From: ${sb.from}\n`;
  s += `To: ${sb.to}\n`;
  s += `Endianness: ${sb.endianness}${sb.endiannessGuessed ? ' (heuristic)' : ''}\n`;
  s += `Timestamp: ${sb.timestamp}\n`;
  s += 'Number of parents: 0\n';
  s += `Number of fallback entries: ${sb.fallbacks.length}\n`;
  let fbSize = 0n;
  let fbUsize = 0n;
  for (const f of sb.fallbacks) {
    s += `  ${f.checksum}\n`;
    fbSize += f.sizeExact ?? BigInt(f.size);
    fbUsize += f.usizeExact ?? BigInt(f.usize);
  }
  const wrap = (v: bigint) => BigInt.asUintN(64, v);
  s += sized('Total Fallback Size', wrap(fbSize));
  s += sized('Total Fallback Uncompressed Size', wrap(fbUsize));
  s += `Number of parts: ${sb.parts.length}\n`;
  let size = 0n;
  let usize = 0n;
  for (let i = 0; i < sb.parts.length; i++) {
    const h = sb.parts[i]!;
    const psize = h.sizeExact ?? BigInt(h.size);
    const pusize = h.usizeExact ?? BigInt(h.usize);
    s += `PartMeta${i}: nobjects=${h.objects.length} size=${psize} usize=${pusize}\n`;
    size += psize;
    usize += pusize;
    const inline = sb.metadata.find(([k]) => k === superblockKey(sb.from, sb.to, String(i)))?.[1];
    let partData: Uint8Array;
    if (inline && inline.type === '(yay)') {
      const [kind, body] = inline.value as [number, Uint8Array];
      partData = new Uint8Array(body.length + 1);
      partData[0] = kind;
      partData.set(body, 1);
    } else {
      partData = await repo.fs.readFile(joinPath(dir, String(i)));
    }
    const p = parsePartPayload(await decompressPart(partData, payloadCap(pusize, DEFAULT_MAX_PART_SIZE), xz));
    s += `PartPayload${i}: nmodes=${p.modes.length} nxattrs=${p.xattrs.length} blobsize=${p.blob.length} opsize=${p.ops.length}\n`;
    const c = countOps(p.ops, h.objects);
    s += `PartPayloadOps${i}: openspliceclose=${c.openspliceclose} open=${c.open} write=${c.write} setread=${c.setread} unsetread=${c.unsetread} close=${c.close} bspatch=${c.bspatch}\n`;
  }
  s += sized('Total Part Size', wrap(size));
  s += sized('Total Part Uncompressed Size', wrap(usize));
  s += sized('Total Size', wrap(size + fbSize));
  s += sized('Total Uncompressed Size', wrap(usize + fbUsize));
  return s;
}
