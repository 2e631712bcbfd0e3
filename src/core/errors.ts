// Coded errors. A subsystem throws these for conditions a caller can act on; anything else is a bug.

export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID'
  | 'STORE_BUSY'
  | 'STORE_FAILED'
  | 'TOO_LARGE'
  | 'ABORTED'
  /** Too much work of this kind is waiting already (password checks): try again later. */
  | 'BUSY'
  | 'CONFIG';

export class LetterboxError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LetterboxError';
    this.code = code;
  }
}

/** A configuration problem: `key` is the dotted path of the offending setting. Exits with code 2. */
export class ConfigError extends LetterboxError {
  readonly key: string;
  constructor(key: string, message: string) {
    super('CONFIG', `${key}: ${message}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

export function isLetterboxError(err: unknown, code?: ErrorCode): err is LetterboxError {
  return err instanceof LetterboxError && (code === undefined || err.code === code);
}
