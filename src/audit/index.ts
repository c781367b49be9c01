// Browser-capable commit audit: public entry point.

export { auditCommit, type AuditOptions } from './audit.ts';
export type { AuditReport, AuditProgress, AuditPhase, AuditCounts, ChecksumMismatch, ObjectError, AuditObjectType } from './report.ts';
export { parseTrustedKeys, type SignatureVerdict, type SignatureCheck, type SignatureStatus } from './signatures.ts';
