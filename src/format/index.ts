// OSTree's formats: object types and encodings, GVariant and GKeyFile — the format package's
// public surface (for reading objects and metadata directly).

export * as gvariant from './gvariant.ts';
export type { GVValue, GVVariant } from './gvariant.ts';
export { KeyFile, KeyFileError } from './keyfile.ts';
export { ObjectType, objectTypeName, isValidChecksum, decodeCommit, decodeDirTree, decodeDirMeta, metadataLookup } from './objects.ts';
export type { Commit, DirTree, DirMeta, Metadata, RepoMode, Xattr } from './objects.ts';
