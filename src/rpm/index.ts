// The RPM package reader's public surface: read a package's headers (parseRpm / openRpm), its
// typed views (identity, dependencies, files, scripts, triggers, changelog), stream its payload
// entry by entry, and check its digests and signatures like `rpmkeys --checksig`.

export { RpmPackage, parseRpm, openRpm } from './open.ts';
export { RpmError, RpmErrorCode } from './errors.ts';
export type { RpmErrorCodeValue } from './errors.ts';
export { RpmHeader, parseHeader, MAIN_HEADER_LIMITS, SIG_HEADER_LIMITS } from './header.ts';
export type { HeaderEntry, HeaderLimits, ParseHeaderOptions } from './header.ts';
export { parseRpmHeaders, readRpmHeaders } from './layout.ts';
export type { RpmHeaders, RpmLayout } from './layout.ts';
export type { RpmLead } from './lead.ts';
export { bytesSource, handleSource } from './source.ts';
export type { RpmSource } from './source.ts';
export { Tag, SigTag, TagType, FileFlag, DigestAlgo } from './tags.ts';
export { readNevra, readPackageInfo, readDependencies, readOrderDependencies, readChangelog } from './package.ts';
export type { RpmPackageInfo, ChangelogEntry } from './package.ts';
export { readFiles, readFilePaths, fileKind, fileDigestAlgo, hardlinkSets } from './files.ts';
export type { RpmFile } from './files.ts';
export { readScripts, readTriggers, readFileTriggers, readTransFileTriggers, ScriptFlag } from './scripts.ts';
export type { RpmScript, RpmTrigger, RpmFileTrigger, ScriptKind, TriggerKind } from './scripts.ts';
export { readPayload, cpioNameToPath } from './archive.ts';
export type { PayloadEntry, ReadPayloadOptions } from './archive.ts';
export { decompressPayload, sniffCompressor } from './payload.ts';
export type { PayloadCompressor } from './payload.ts';
export { DepFlag, formatNevra, formatEvr } from './types.ts';
export type { Dependency, Nevra, PackageDependencies } from './types.ts';
export { verifyRpm } from './verify.ts';
export type { RpmVerifyResult, RpmCheck, RpmCheckStatus, VerifyRpmOptions } from './verify.ts';
