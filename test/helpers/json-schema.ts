// A small JSON Schema checker for the documented `--json` shapes: the keywords those schemas use
// (type, enum, properties, required, additionalProperties, items, pattern) and no others, which it
// refuses rather than ignores so a schema cannot promise more than is checked.
export interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  pattern?: string;
  description?: string;
  $schema?: string;
  title?: string;
}

const KNOWN = new Set(['type', 'enum', 'properties', 'required', 'additionalProperties', 'items', 'pattern', 'description', '$schema', 'title']);

function typeOf(value: unknown): string[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') return Number.isInteger(value) ? ['integer', 'number'] : ['number'];
  return [typeof value];
}

function checkObject(value: Record<string, unknown>, schema: Schema, at: string, problems: string[]): void {
  for (const key of schema.required ?? []) if (!(key in value)) problems.push(`${at}: missing ${key}`);
  for (const [key, item] of Object.entries(value)) {
    const property = schema.properties?.[key];
    if (property) check(item, property, `${at}.${key}`, problems);
    else if (schema.additionalProperties === false) problems.push(`${at}: unexpected ${key}`);
    else if (typeof schema.additionalProperties === 'object') check(item, schema.additionalProperties, `${at}.${key}`, problems);
  }
}

function check(value: unknown, schema: Schema, at: string, problems: string[]): void {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`${at}: schema keyword ${key} is not supported`);
  const types = schema.type === undefined ? undefined : [schema.type].flat();
  if (types && !typeOf(value).some((t) => types.includes(t))) return void problems.push(`${at}: ${JSON.stringify(value)} is not ${types.join(' or ')}`);
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.pattern && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) problems.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => check(item, schema.items as Schema, `${at}[${i}]`, problems));
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) checkObject(value as Record<string, unknown>, schema, at, problems);
}

/** Every way `value` departs from `schema`; empty when it conforms. */
export function schemaProblems(value: unknown, schema: Schema): string[] {
  const problems: string[] = [];
  check(value, schema, '$', problems);
  return problems;
}
