// Client-side package layering (rpm-ostree's install / uninstall / override / reset on a host):
// the origin's request, the base package set, resolution with the base locked, package import
// with gpgcheck, the layered build and commit, and the transaction that deploys it.

export { readLayerRequest, writeLayerRequest, isLayered, emptyRequest, parseLocalEntry } from './origin.ts';
export type { LayerRequest } from './origin.ts';
export { readBasePackages, TREE_RPMDB } from './base.ts';
export type { BasePackage } from './base.ts';
export { applyChange } from './change.ts';
export type { LayerChange } from './change.ts';
export { resolveLayer } from './resolve.ts';
export type { LayerResolution, LayerPackage, LocalPackage, ResolveInput } from './resolve.ts';
export { importLayerPackages, importLocalRpm } from './import.ts';
export type { CachedLayerPackage, LocalImport, ImportLayerOptions } from './import.ts';
export { buildLayeredCommit, CLIENTLAYER_VERSION } from './build.ts';
export type { BuildLayerInput } from './build.ts';
export { layerTxn, baseCommitOf, loadBasePackages, updateBaseRefs, parseNevraLoose } from './txn.ts';
export type { LayerTxnOptions, LayerTxnResult } from './txn.ts';
export { refreshRpmmd, cleanRpmmdCache, rpmmdCacheDir } from './rpmmd-cache.ts';
export { layerUpgradeTxn, hasLayeredOrigin, hasLayeredCommit } from './upgrade.ts';
export type { LayerUpgradeOptions, LayerUpgradeResult } from './upgrade.ts';
export { readInitramfsRequest, writeInitramfsRequest, applyInitramfsChange, emptyInitramfsRequest, needsInitramfs, normalizeEtcPath } from './initramfs-origin.ts';
export type { InitramfsRequest, InitramfsChange } from './initramfs-origin.ts';
export { readBaseSnapshot, readSnapshotPolicy, writeSnapshotPolicy, inSnapshot } from './snapshot.ts';
export type { RpmmdSnapshot } from './snapshot.ts';
