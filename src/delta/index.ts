// Static deltas: public API (formats, apply, generate, repository management, pull helpers).

export { deltaRelDir, deltaRelPath, deltaIndexRelPath, deltaNameString, parseDeltaName, deltaNameFromDirs, superblockKey, type DeltaName } from './paths.ts';
export {
  parseSuperblock,
  encodeSuperblock,
  parseSignedSuperblock,
  encodeSignedSuperblock,
  isSignedSuperblock,
  type Superblock,
  type PartHeader,
  type FallbackEntry,
  type DeltaObjectRef,
  type Endianness,
} from './superblock.ts';
export { parsePartPayload, encodePartPayload, decompressPart, compressPart, payloadCap, type PartPayload } from './part.ts';
export { wasmXzDecoder, storeXzEncoder, lzma2XzEncoder, xzStore, xzContainer, type XzDecoder, type XzEncoder } from './xz.ts';
export { lzma2Encode } from './lzma2.ts';
export { defaultXzEncoder } from './xz-encoder.ts';
export { executePart, countOps, type BspatchFn, type OpCounts } from './execute.ts';
export { applyDeltaOffline, executeDelta, loadSuperblock, DEFAULT_MAX_PART_SIZE, type ApplyDeltaOptions, type ApplyResult, type SuperblockVerifier, type PartLoader } from './apply.ts';
export { generateDelta, type GenerateDeltaOptions, type GenerateDeltaResult, type DeltaKernels, type DeltaSigner } from './generate.ts';
export { listDeltas, deltaSuperblockChecksum, deleteDelta, reindexDeltas, listDeltaIndexes, encodeDeltaIndex } from './manage.ts';
export { showDelta } from './show.ts';
export { advertisedDeltas, parseDeltaIndex, fetchDeltaIndex, chooseDelta, applyDeltaFromSource, createDeltaHook, localDeltaFetch, type DeltaFetch, type DeltaHookContext } from './source.ts';
export { fetchPullSuperblock, deltaPullSizes, applyPulledDelta, bestDeltaStart, type DeltaPullSizes, type DeltaStart } from './source.ts';
