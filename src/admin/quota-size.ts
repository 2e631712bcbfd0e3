// The SIZE of `letterbox user quota ADDRESS SIZE`: bytes, or a number with K, M, G or T (powers of
// 1024, as `user list` prints them), or `none` (or 0) for no limit.

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Bytes, 0 for none; null when `text` is not a size. */
export function parseQuotaSize(text: string): number | null {
  if (/^none$/i.test(text)) return 0;
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!match) return null;
  const bytes = Math.round(Number(match[1]) * (UNITS[(match[2] ?? '').toUpperCase()] ?? 1));
  return Number.isSafeInteger(bytes) ? bytes : null;
}
