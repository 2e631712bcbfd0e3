// DESIGN.md "Who may import whom", enforced: every relative import of every file under src/ is checked
// against the folders its own folder may use. A new folder must be given its rule here before it passes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Root files that wire everything together and may import anything. */
const WIRING = new Set(['main.ts', 'cli.ts', 'log.ts']);

/** Folders each folder may import besides itself; `typesOnly` folders may only take types from them. */
const RULES: Record<string, { may: string[]; typesOnly?: boolean }> = {
  core: { may: [] },
  // Configuration errors are core's ConfigError, so the CLI can turn them into exit code 2 (DESIGN 6).
  config: { may: ['core'] },
  // Protocol code defines the backend interfaces it needs and takes only core's types (DESIGN 2).
  imap: { may: ['core'], typesOnly: true },
  pop3: { may: ['core'], typesOnly: true },
  store: { may: ['core'] },
  mailbox: { may: ['core', 'store', 'imap', 'pop3'] },
  smtp: { may: ['core'] },
  queue: { may: ['core'] },
  delivery: { may: ['core'] },
  web: { may: ['core'] },
  panel: { may: ['core'] },
  // The operations behind CLI commands and the admin socket: they reach the store through core.
  admin: { may: ['core'] },
  // Certificate loading: plain files (written with core's durable-files) and crypto.
  tls: { may: ['core'] },
};

/**
 * Departures from DESIGN.md found in the tree, each naming the importing folder and the module it
 * imports, kept here (and reported) until DESIGN.md or the code changes. One that is no longer used
 * fails the test, so the list cannot go stale.
 */
const KNOWN_DEPARTURES: { from: string; module: string }[] = [];

interface ImportSite {
  specifier: string;
  typeOnly: boolean;
}

/** Every module specifier in `source`, read with the TypeScript parser so strings and comments never fool it. */
function importsOf(source: string): ImportSite[] {
  const sites: ImportSite[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      sites.push({ specifier: node.moduleSpecifier.text, typeOnly: isTypeOnly(node) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      sites.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      sites.push({ specifier: node.argument.literal.text, typeOnly: true }); // `import('../x.js').T`
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('scanned.ts', source, ts.ScriptTarget.Latest, true));
  return sites;
}

/** `import type`, `export type`, or braces holding only `type` names; a side-effect import is not. */
function isTypeOnly(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) {
    const clause = node.exportClause;
    return node.isTypeOnly || (!!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
  }
  const clause = node.importClause;
  if (!clause) return false;
  if (clause.phaseModifier === ts.SyntaxKind.TypeKeyword) return true;
  const bindings = clause.namedBindings;
  return !clause.name && !!bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

/** `core` for src/core/x.ts, `main.ts` for src/main.ts, null outside src. */
function areaOf(file: string): string | null {
  const relative = path.relative(SRC, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return null;
  // A root file is named by its emitted `.js` in imports and by its `.ts` on disk.
  return relative.split(path.sep)[0]?.replace(/\.js$/, '.ts') ?? null;
}

/** Why `file` may not import `site`, or null when it may. */
function violation(file: string, site: ImportSite): string | null {
  if (!site.specifier.startsWith('.')) return null; // packages and node: built-ins
  const from = areaOf(file);
  const to = areaOf(path.resolve(path.dirname(file), site.specifier));
  if (from === null) return null;
  if (WIRING.has(from)) return null;
  if (to === null) return 'reaches outside src/';
  if (to === from) return null;
  const rule = RULES[from];
  if (!rule) return `src/${from} has no rule in test/unit/layering.test.ts (see DESIGN.md "Who may import whom")`;
  if (!rule.may.includes(to)) return `${from} may not import ${to}`;
  if (rule.typesOnly && !site.typeOnly) return `${from} may import only types from ${to}`;
  return null;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

t.test('importsOf finds every form of import', async (t) => {
  const source = [
    "import t from 'tap';",
    "import { a, b } from './a.js';",
    "import type { C } from '../core/types.js';",
    "import { type D, type E } from '../core/interfaces.js';",
    "import { type F, g } from '../core/errors.js';",
    "import Default, { type G } from '../core/events.js';",
    "import * as ns from '../store/index.js';",
    "import '../panel/side-effect.js';",
    "export { h } from '../queue/h.js';",
    "export type { I } from '../delivery/i.js';",
    'export * from "../web/all.js";',
    'import {',
    '  j,',
    '  k,',
    "} from '../config/index.js';",
    "const lazy = await import('../mailbox/lazy.js');",
    "let typed: import('../imap/backend.js').Backend;",
    "// import { hidden } from '../web/comment.js';",
    "/* import { hidden } from '../web/block.js'; */",
    "const glob = 'src/**/*.ts'; const text = \"import { x } from '../web/string.js'\";",
    "const url = 'http://example.com/x'; import { l } from './l.js';",
  ].join('\n');
  t.same(importsOf(source), [
    { specifier: 'tap', typeOnly: false },
    { specifier: './a.js', typeOnly: false },
    { specifier: '../core/types.js', typeOnly: true },
    { specifier: '../core/interfaces.js', typeOnly: true },
    { specifier: '../core/errors.js', typeOnly: false },
    { specifier: '../core/events.js', typeOnly: false },
    { specifier: '../store/index.js', typeOnly: false },
    { specifier: '../panel/side-effect.js', typeOnly: false },
    { specifier: '../queue/h.js', typeOnly: false },
    { specifier: '../delivery/i.js', typeOnly: true },
    { specifier: '../web/all.js', typeOnly: false },
    { specifier: '../config/index.js', typeOnly: false },
    { specifier: '../mailbox/lazy.js', typeOnly: false },
    { specifier: '../imap/backend.js', typeOnly: true },
    { specifier: './l.js', typeOnly: false },
  ]);
});

t.test('the rules, on examples', async (t) => {
  const at = (file: string) => path.join(SRC, file);
  const cases: Array<[file: string, specifier: string, typeOnly: boolean, want: string | null]> = [
    ['core/types.ts', './errors.js', false, null],
    ['core/types.ts', '../store/index.js', true, 'core may not import store'],
    ['config/load.ts', '../core/errors.js', false, null],
    ['config/load.ts', '../store/index.js', false, 'config may not import store'],
    ['store/db.ts', '../core/errors.js', false, null],
    ['store/db.ts', '../config/index.js', false, 'store may not import config'],
    ['smtp/server.ts', '../core/interfaces.js', true, null],
    ['smtp/server.ts', '../store/index.js', false, 'smtp may not import store'],
    ['smtp/server.ts', '../log.js', false, 'smtp may not import log.ts'],
    ['smtp/server.ts', 'smtp-server', false, null],
    ['smtp/server.ts', 'node:net', false, null],
    ['queue/scheduler.ts', '../delivery/agent.js', false, 'queue may not import delivery'],
    ['imap/select.ts', '../core/types.js', true, null],
    ['imap/select.ts', '../core/errors.js', false, 'imap may import only types from core'],
    ['imap/select.ts', '../store/index.js', true, 'imap may not import store'],
    ['pop3/server.ts', '../mailbox/pop3.js', true, 'pop3 may not import mailbox'],
    ['mailbox/imap.ts', '../imap/backend.js', true, null],
    ['mailbox/imap.ts', '../store/index.js', false, null],
    ['mailbox/imap.ts', '../smtp/server.js', false, 'mailbox may not import smtp'],
    ['admin/api.ts', '../core/errors.js', false, null],
    ['admin/api.ts', '../store/index.js', false, 'admin may not import store'],
    ['tls/certificate.ts', '../core/durable-files.js', false, null],
    ['tls/certificate.ts', '../store/index.js', false, 'tls may not import store'],
    ['web/server.ts', '../panel/model.js', false, 'web may not import panel'],
    ['panel/oled.ts', './ssd1306/driver.js', false, null],
    ['main.ts', './store/index.js', false, null],
    ['cli.ts', './admin/api.js', false, null],
    ['log.ts', './core/errors.js', false, null],
    ['smtp/server.ts', '../../test/helpers/smtp.js', false, 'reaches outside src/'],
    ['extras/x.ts', '../core/errors.js', false, 'src/extras has no rule in test/unit/layering.test.ts (see DESIGN.md "Who may import whom")'],
  ];
  for (const [file, specifier, typeOnly, want] of cases) {
    t.equal(violation(at(file), { specifier, typeOnly }), want, `${file} -> ${specifier}`);
  }
});

/** The module a relative specifier names, as a path under src/ with the `.ts` of the file on disk. */
function moduleOf(file: string, specifier: string): string {
  return path.relative(SRC, path.resolve(path.dirname(file), specifier)).split(path.sep).join('/').replace(/\.js$/, '.ts');
}

t.test('src/ follows the import rules of DESIGN.md', async (t) => {
  const files = sourceFiles(SRC);
  t.ok(files.length > 10, `${files.length} files scanned`);
  const found: string[] = [];
  const departuresSeen = new Set<(typeof KNOWN_DEPARTURES)[number]>();
  let relative = 0;
  for (const file of files) {
    for (const site of importsOf(fs.readFileSync(file, 'utf8'))) {
      if (site.specifier.startsWith('.')) relative += 1;
      const why = violation(file, site);
      if (!why) continue;
      const known = KNOWN_DEPARTURES.find((d) => d.from === areaOf(file) && d.module === moduleOf(file, site.specifier));
      if (known) departuresSeen.add(known);
      else found.push(`src/${path.relative(SRC, file)}: '${site.specifier}': ${why}`);
    }
  }
  t.ok(relative > 0, `${relative} relative imports checked`);
  t.same(found, [], found.length > 0 ? `violations:\n  ${found.join('\n  ')}` : 'no violations');
  const stale = KNOWN_DEPARTURES.filter((d) => !departuresSeen.has(d));
  t.same(stale, [], 'every known departure still exists (remove the ones that were fixed)');
  for (const d of departuresSeen) t.comment(`known departure from DESIGN.md: ${d.from} imports ${d.module}`);
});
