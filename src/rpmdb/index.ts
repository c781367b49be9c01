// The installed-package database (rpmdb) package: installed header blobs as rpm 4.18 stores them,
// rpmdb.sqlite written in rpm's schema and read back, rpm-ostree's placement of the db in a tree,
// and the package lists rpm-ostree derives from it (commit pkglist, `db version`).

export { HeaderBlob, HeaderType } from './header-blob.ts';
export type { HeaderEntry } from './header-blob.ts';
export { encodeHeader, appendDribbles, int32Value, charValue, binValue, stringValue, stringArrayValue } from './header-writer.ts';
export type { HeaderValue } from './header-writer.ts';
export { readRpmHeaders, readRpmHeadersFromBytes } from './rpm-file.ts';
export type { RpmHeaders } from './rpm-file.ts';
export { installedHeader, FileState } from './installed-header.ts';
export type { InstallOptions } from './installed-header.ts';
export { INDEX_TABLES, indexRows } from './indexes.ts';
export type { IndexTable, IndexRow } from './indexes.ts';
export { richLeafKeys } from './rich-leaves.ts';
export { buildRpmdbImage, writeRpmdb, writeRpmdbImage, readRpmdb, readRpmdbImage, updateRpmdb, MAX_RPMDB_BYTES, MAX_RPMDB_PACKAGES } from './rpmdb.ts';
export type { RpmdbWriteOptions, InstalledPackage, RpmdbChanges } from './rpmdb.ts';
export { writeTreeRpmdb, writeTreeRpmdbFromPackages, RPMOSTREE_RPMDB_DIR, RPMOSTREE_MACRO_FILE, RPMDB_LINKS } from './layout.ts';
export type { RpmdbSource, TreeRpmdbOptions } from './layout.ts';
export { headerNevra, pkglistVariant, encodePkglist, sortPkglist, envra, rpmdbVersion, PKGLIST_KEY, PKGLIST_TYPE } from './pkglist.ts';
export { rpmvercmp, comparePackageEvr as compareEvr } from '../solve/version.ts';
