// Browser entry to xylem: what runs in a page without any Node API — the commit audit
// (fetch + WebAssembly only; hashing in the WASM core, never WebCrypto, which plain-http pages lack).

export { auditCommit, parseTrustedKeys } from '../../src/audit/index.ts';
export type {
  AuditOptions,
  AuditReport,
  AuditProgress,
  AuditPhase,
  AuditCounts,
  ChecksumMismatch,
  ObjectError,
  SignatureVerdict,
  SignatureCheck,
  SignatureStatus,
} from '../../src/audit/index.ts';
export { installWebCryptoFallback } from './webcrypto-fallback.ts';
export { loadCore } from '../../core-wasm/index.ts';
