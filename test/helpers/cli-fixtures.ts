// Snapshots of what the `letterbox` commands print, kept in test/fixtures/cli/NAME.txt. A test compares
// a command's output with its file; `npm run fixtures:cli` (LETTERBOX_REFRESH_CLI_FIXTURES=1) writes
// the files instead. What changes from run to run (queue ids, ports, times, sizes) is replaced by
// placeholders first, and runs of spaces collapse, as column widths follow the values replaced.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { schemaProblems, type Schema } from './json-schema.js';

export const CLI_FIXTURES = fileURLToPath(new URL('../fixtures/cli/', import.meta.url));
const REFRESH = process.env.LETTERBOX_REFRESH_CLI_FIXTURES === '1';

const SPAN = String.raw`\d+ (?:s|min|h|days)`;

/** The output with what varies between runs replaced; `known` maps exact strings (queue ids, paths) to names. */
export function normalise(text: string, known: Record<string, string> = {}): string {
  let out = text;
  for (const [value, name] of Object.entries(known)) out = out.replaceAll(value, name);
  return out
    .replace(/\b(\d{1,3}(?:\.\d{1,3}){3}\]?):\d+\b/g, '$1:<port>')
    .replace(/\b\d+(?:\.\d)? (?:B|KB|MB|GB|TB)\b/g, '<size>')
    .replace(/\(\d+%\)/g, '(<n>%)')
    .replace(new RegExp(String.raw`\b(?:just now|${SPAN} ago|in ${SPAN})`, 'g'), '<when>')
    .replace(new RegExp(String.raw`\b(up|waiting) ${SPAN}`, 'g'), '$1 <span>')
    .replace(/\b\d{4}-\d\d-\d\dT[\d:.]+Z\b/g, '<time>')
    .replace(/ {2,}/g, '  ');
}

/** Compares `actual` (normalised already) with test/fixtures/cli/NAME.txt, or writes the file when refreshing. */
export function matchFixture(t: Test, name: string, actual: string): void {
  const file = join(CLI_FIXTURES, `${name}.txt`);
  if (REFRESH) {
    mkdirSync(CLI_FIXTURES, { recursive: true });
    writeFileSync(file, actual);
    t.pass(`wrote ${name}.txt`);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(file, 'utf8');
  } catch {
    t.fail(`no fixture ${name}.txt: run npm run fixtures:cli`, { actual });
    return;
  }
  t.equal(actual, expected, `${name}: the output as in test/fixtures/cli/${name}.txt`);
}

/** Checks a command's `--json` output against test/fixtures/cli/schemas/NAME.schema.json. */
export function matchSchema(t: Test, name: string, json: string): unknown {
  const schema = JSON.parse(readFileSync(join(CLI_FIXTURES, 'schemas', `${name}.schema.json`), 'utf8')) as Schema;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    t.fail(`${name}: --json printed no JSON`, { json });
    return undefined;
  }
  t.same(schemaProblems(value, schema), [], `${name} --json conforms to its schema`);
  return value;
}
