// ENVELOPE and BODYSTRUCTURE trees from the backend (strings, numbers, NIL, lists) as response values:
// the encoder picks quoted or literal for each string by what it holds (RFC 3501 4.3).
import type { StructureValue } from '../backend.js';
import { list, NIL, num, str, type ResponseValue } from '../wire/encoder.js';

export function structureValue(value: StructureValue): ResponseValue {
  if (value === null) return NIL;
  if (typeof value === 'number') return num(value);
  if (typeof value === 'string') return str(value);
  return list(value.map(structureValue));
}
