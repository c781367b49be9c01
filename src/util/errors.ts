// Error types the engine throws; the CLI prints `error: <message>` and exits non-zero for any of them.

export class XylemError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'XylemError';
    this.code = code;
  }
}

/** Raised when an object or file fails validation (bad checksum, corrupt encoding, hostile content). */
export class CorruptionError extends XylemError {
  constructor(message: string) {
    super(message, 'ECORRUPT');
    this.name = 'CorruptionError';
  }
}

export class NotFoundError extends XylemError {
  constructor(message: string) {
    super(message, 'ENOENT');
    this.name = 'NotFoundError';
  }
}

export function errnoCode(e: unknown): string | undefined {
  return e !== null && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}
