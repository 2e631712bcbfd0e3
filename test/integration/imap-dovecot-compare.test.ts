// Letterbox answers FETCH as Dovecot does (issue 7): every message of the awkward-message corpus is
// APPENDed byte for byte to a throwaway Dovecot and to the appliance, and both are asked the same
// questions: ENVELOPE, BODYSTRUCTURE and BODY; HEADER.FIELDS; every part's MIME header and body; the
// header and text of every enclosed message; BINARY.SIZE of every leaf part. The parts are those of
// Dovecot's BODYSTRUCTURE. The answers are parsed (test/helpers/imap-response.ts) and normalised for what
// RFC 3501 leaves free (quoted or literal, atom case, FETCH item order), then must be equal, except for
// the deliberate differences named in DIFFERENCES with the RFC text that allows them.
// LETTERBOX_IMAP_ANSWERS=<dir> writes both servers' answers there (dovecot.txt, letterbox.txt) to diff.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { passwordOf, provision, startAppliance } from '../helpers/appliance.js';
import { startDovecot } from '../helpers/dovecot.js';
import { greets, ImapSession, LETTERBOX_NOT_SERVING, type ImapAccountAddress } from '../helpers/imap-clients.js';
import { missingPeer } from '../helpers/peers.js';
import { fetchItem, normaliseResponse, nulOutsideLiteral8, showValue, type ImapResponse, type ResponseValue } from '../helpers/imap-response.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** The corpus, and the MIME indexer's own fixtures (test/fixtures/mime), which are awkward too. */
const CORPUS = ['imap-corpus', 'mime'].flatMap((dir) =>
  readdirSync(join(FIXTURES, dir))
    .filter((name) => name.endsWith('.eml'))
    .sort()
    .map((name) => ({ name: `${dir}/${name}`, bytes: readFileSync(join(FIXTURES, dir, name)) })),
);

/**
 * Where Letterbox deliberately answers otherwise than Dovecot: the message (a corpus name), the
 * question (a pattern over the FETCH items asked), why, and the RFC text that allows it. `edits` say
 * exactly what differs: each [pattern, replacement] is applied to both servers' answers, and what is
 * left must be equal, so that a difference named here cannot hide another one in the same answer.
 * Keep it short: each entry is a decision, reported in the issue. An entry that no longer differs fails.
 */
interface Difference {
  name: string;
  message: string;
  question: RegExp;
  edits: Array<[RegExp, string]>;
  why: string;
  rfc: string;
}
const STRUCTURE = /^ENVELOPE BODYSTRUCTURE BODY$/;
/** A quoted string as showValue() writes it. */
const QUOTED = String.raw`"(?:[^"\\]|\\.)*"`;
/** A whole BINARY.SIZE answer: a size, or NO with a response code. */
const BINARY_SIZE_ANSWER: [RegExp, string] = [/^(\* FETCH \(BINARY\.SIZE\[[\d.]+\] \d+\)\nOK|NO \[(UNKNOWN-CTE|PARSE)\])$/, '(BINARY.SIZE answer)'];
/** RFC 3516 4.4 binary APPEND: the CTE, size and body of a part that Dovecot re-encodes in base64. */
function binaryPartEdits(part: string, sizes: string): Array<[RegExp, string]> {
  return [
    [new RegExp(String.raw`"(binary|base64)" (${sizes})\b`, 'g'), '"(binary or base64)" (size)'],
    [/Content-Transfer-Encoding: (binary|base64)\\r\\n/g, 'Content-Transfer-Encoding: (binary or base64)\\r\\n'],
    [new RegExp(String.raw`BODY\[${part}\] ${QUOTED}`), `BODY[${part}] (as APPENDed, or in base64)`],
  ];
}
const DIFFERENCES: Difference[] = [
  {
    name: 'binary APPEND kept as sent',
    message: 'imap-corpus/binary-body.eml',
    question: /^(ENVELOPE BODYSTRUCTURE BODY|BODY\.PEEK\[2\.MIME\] BODY\.PEEK\[2\])$/,
    edits: binaryPartEdits('2', '16|24'),
    why: 'a part APPENDed in a literal8 with Content-Transfer-Encoding: binary is stored and sent as it came; Dovecot re-encodes it in base64',
    rfc: 'RFC 3516 4.4: "The server MAY modify the CTE ..."',
  },
  {
    name: 'binary APPEND kept as sent',
    message: 'mime/unclosed.eml',
    question: /^(ENVELOPE BODYSTRUCTURE BODY|BODY\.PEEK\[2\.MIME\] BODY\.PEEK\[2\])$/,
    edits: binaryPartEdits('2', '7|12'),
    why: 'the binary part of a message APPENDed in a literal8 is stored and sent as it came; Dovecot re-encodes it in base64',
    rfc: 'RFC 3516 4.4: "The server MAY modify the CTE ..."',
  },
  {
    name: 'BINARY.SIZE answered per part',
    message: 'imap-corpus/bad-content-type.eml',
    question: /^BINARY\.SIZE\[[1-4]\]$/,
    edits: [BINARY_SIZE_ANSWER],
    why: 'parts 1 to 4 decode, so their size is given; only part 5 (x-uuencode) gets NO [UNKNOWN-CTE], where Dovecot refuses every part of the message',
    rfc: 'RFC 3516 4.3: BINARY.SIZE is the size of the requested section with its CTE removed; UNKNOWN-CTE concerns a section whose CTE the server cannot decode',
  },
  {
    name: 'BINARY.SIZE answered per part',
    message: 'imap-corpus/qp-and-base64.eml',
    question: /^BINARY\.SIZE\[[1-4]\]$/,
    edits: [BINARY_SIZE_ANSWER],
    why: 'damaged quoted-printable and base64 are decoded leniently, part by part; Dovecot answers NO [PARSE] for the whole message',
    rfc: 'RFC 3516 4.3: BINARY.SIZE is the size of the requested section with its CTE removed (per section, not per message)',
  },
  {
    name: 'invalid Content-Type taken as text/plain',
    message: 'imap-corpus/bad-content-type.eml',
    question: STRUCTURE,
    edits: [
      [/\("text" "" /g, '("text" "plain" '],
      [/\("" "" NIL NIL NIL "7bit" 14/g, '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 0'],
    ],
    why: 'a Content-Type with no subtype or no type is read as text/plain; Dovecot writes the broken type and subtype ("text" "", "" "")',
    rfc: 'RFC 2045 5.2: "It is also recommend that this default be assumed when a syntactically invalid Content-Type header field is encountered"',
  },
  {
    name: 'RFC 2231 continuations joined, percent-encoding kept',
    message: 'imap-corpus/rfc2231-parameters.eml',
    question: STRUCTURE,
    edits: [
      [/isn't it!/g, 'isn%27t%20it!'],
      [/Gr%FC%DFe aus K%F6ln\.txt/g, 'Gr%FC%DFe%20aus%20K%F6ln.txt'],
      [/"name\*0" "first-" "name\*1" "second" "name\*3" "gap" "charset" "us-ascii"/g, '"name" "first-second"'],
    ],
    why: 'the sections of a continued parameter are joined into one value (`name*` percent-encoded, plain sections encoded into it; sections after a gap dropped); Dovecot leaves unencoded sections as they are',
    rfc: 'RFC 2231 3 (parameter value continuations) and 7 (attribute-char excludes SPACE, "\'" and "%")',
  },
  {
    name: 'RFC 2231 continuations joined, percent-encoding kept',
    message: 'mime/nested.eml',
    question: STRUCTURE,
    edits: [[/J%C3%B6rg file\.pdf/g, 'J%C3%B6rg%20file.pdf']],
    why: 'as above: the plain continuation " file.pdf" is percent-encoded into `name*`',
    rfc: 'RFC 2231 3 and 7',
  },
  {
    name: 'duplicate header fields: the first is used',
    message: 'imap-corpus/duplicate-headers.eml',
    question: STRUCTURE,
    edits: [
      [/"Second subject"/, '"First subject"'],
      [/ \(NIL NIL "second" "example\.com"\)/g, ''],
      [/ \(NIL NIL "b" "example\.com"\)/g, ''],
    ],
    why: 'of two From, two Subject and two To fields the first is used; Dovecot joins the address lists and takes the last Subject',
    rfc: 'RFC 5322 3.6 allows each of these fields once and gives no rule for a message with two',
  },
  {
    name: 'folded Subject unfolded by removing only the CRLF',
    message: 'imap-corpus/long-headers.eml',
    question: STRUCTURE,
    // The eight folds of the Subject whose continuation line starts with two blanks.
    edits: [[/(word0038|word0069|word0108|word0139|word0178|word0209|word0248|word0279) (?=word)/g, '$1  ']],
    why: 'unfolding removes each CRLF and keeps all the white space after it; Dovecot drops one blank there',
    rfc: 'RFC 5322 2.2.3: "Unfolding is accomplished by simply removing any CRLF that is immediately followed by WSP"',
  },
  {
    name: 'empty APPEND answered NO [CANNOT]',
    message: 'mime/empty.eml',
    question: /^APPEND$/,
    edits: [[/^NO$/, 'NO [CANNOT]']],
    why: 'an empty message is refused with a response code that says it can never succeed; Dovecot answers a plain NO',
    rfc: 'RFC 5530 3: CANNOT, "This operation violates some invariant of the server and can never succeed"',
  },
];

/** One question for one message: FETCH items. */
type Question = string;

/** A part of Dovecot's BODYSTRUCTURE: its section, and what it is. */
interface Part {
  section: string;
  kind: 'multipart' | 'message' | 'leaf';
}

function isMultipart(body: ResponseValue): boolean {
  return body.kind === 'list' && body.items[0]?.kind === 'list';
}

function isMessage(body: ResponseValue): boolean {
  if (body.kind !== 'list') return false;
  const [type, subtype] = body.items;
  const text = (v: ResponseValue | undefined) => (v?.kind === 'string' ? v.bytes.toString('latin1').toLowerCase() : '');
  // RFC 3501 7.4.2: only message/rfc822 carries an enclosed envelope and body structure.
  return text(type) === 'message' && text(subtype) === 'rfc822' && body.items[8]?.kind === 'list';
}

/** The parts inside `body`, which has `section` ('' for the whole message), depth first. */
function partsInside(body: ResponseValue, section: string): Part[] {
  if (body.kind !== 'list') return [];
  const child = (n: number) => (section ? `${section}.${n}` : `${n}`);
  if (isMultipart(body)) {
    // The children come first; the subtype (a string) ends them, and extension data follows it.
    const end = body.items.findIndex((item) => item.kind !== 'list');
    const children = end < 0 ? body.items : body.items.slice(0, end);
    return children.flatMap((item, i) => [
      { section: child(i + 1), kind: isMultipart(item) ? 'multipart' : isMessage(item) ? 'message' : 'leaf' } as Part,
      ...partsInside(item, child(i + 1)),
    ]);
  }
  if (!section) return [{ section: '1', kind: isMessage(body) ? 'message' : 'leaf' }, ...(isMessage(body) ? enclosedParts(body, '1') : [])];
  return isMessage(body) ? enclosedParts(body, section) : [];
}

/** RFC 3501 6.4.5: the parts of an enclosed message are numbered under its part; a single-part one is n.1. */
function enclosedParts(message: ResponseValue, section: string): Part[] {
  const enclosed = (message as { items: ResponseValue[] }).items[8] as ResponseValue;
  if (isMultipart(enclosed)) return partsInside(enclosed, section);
  const single = `${section}.1`;
  return [{ section: single, kind: isMessage(enclosed) ? 'message' : 'leaf' }, ...(isMessage(enclosed) ? enclosedParts(enclosed, single) : [])];
}

/** The questions for a message whose BODYSTRUCTURE (Dovecot's) is `structure`. */
function questionsFor(structure: ResponseValue | undefined): Question[] {
  const questions = ['ENVELOPE BODYSTRUCTURE BODY', 'BODY.PEEK[HEADER.FIELDS (From To Subject Content-Type)]'];
  if (!structure) return questions;
  for (const part of partsInside(structure, '')) {
    questions.push(`BODY.PEEK[${part.section}.MIME] BODY.PEEK[${part.section}]`);
    if (part.kind === 'message') questions.push(`BODY.PEEK[${part.section}.HEADER] BODY.PEEK[${part.section}.TEXT]`);
    // Asked alone: a part with an unknown transfer encoding fails the whole FETCH (RFC 3516 4.3).
    if (part.kind === 'leaf') questions.push(`BINARY.SIZE[${part.section}]`);
  }
  return questions;
}

/** A server's answers: per corpus message, per question, the normalised lines. */
type Answers = Map<string, Map<Question, string[]>>;

/** What a server answered that no IMAP client may be sent, whatever Dovecot does: `message: question`. */
type Violations = string[];

/** The FETCH answer without what differs by mailbox history: the sequence number and the UID item. */
function answerLines(responses: ImapResponse[], tagged: ImapResponse): string[] {
  const lines = responses
    .filter((r) => r.values[1]?.kind === 'atom' && r.values[1].text.toUpperCase() === 'FETCH')
    .map((r) => {
      const [, , list] = normaliseResponse(r);
      if (list?.kind !== 'list') return '* FETCH ?';
      const items: ResponseValue[] = [];
      for (let i = 0; i + 1 < list.items.length; i += 2) {
        if (showValue(list.items[i] as ResponseValue) !== 'UID') items.push(list.items[i] as ResponseValue, list.items[i + 1] as ResponseValue);
      }
      return items.length ? `* FETCH ${showValue({ kind: 'list', items })}` : '';
    })
    // `* n FETCH (UID n)` alone (Dovecot's, before a NO) says nothing about the message.
    .filter(Boolean);
  return [...lines, `${tagged.status}${tagged.code ? ` [${tagged.code.name}]` : ''}`];
}

interface Appended {
  uid: string | null;
  answer: string;
}

async function appendCorpus(session: ImapSession): Promise<Map<string, Appended>> {
  const appended = new Map<string, Appended>();
  for (const { name, bytes } of CORPUS) {
    const { tagged } = await session.command(`APPEND INBOX `, { literal: bytes, binary: bytes.includes(0) });
    // RFC 4315 3: APPENDUID uidvalidity uid.
    const uid = tagged.status === 'OK' && tagged.code?.name === 'APPENDUID' ? (tagged.code.text.split(' ')[1] ?? null) : null;
    appended.set(name, { uid, answer: `${tagged.status}${tagged.code ? ` [${tagged.code.name}]` : ''}` });
  }
  return appended;
}

/** APPENDs the corpus and asks every question (from `questions`, or from this server's BODYSTRUCTURE). */
async function ask(account: ImapAccountAddress, questions?: Map<string, Question[]>): Promise<{ answers: Answers; questions: Map<string, Question[]>; violations: Violations }> {
  const session = await ImapSession.open(account);
  const answers: Answers = new Map();
  const violations: Violations = [];
  const asked = new Map<string, Question[]>();
  try {
    await session.login(account.user, account.password);
    const appended = await appendCorpus(session);
    await session.ok('SELECT INBOX');
    for (const { name } of CORPUS) {
      const { uid, answer } = appended.get(name) as Appended;
      const perQuestion = new Map<Question, string[]>([['APPEND', [answer]]]);
      answers.set(name, perQuestion);
      if (!uid) continue;
      let list = questions?.get(name);
      if (!list) {
        const { untagged } = await session.command(`UID FETCH ${uid} (BODYSTRUCTURE)`);
        list = questionsFor(untagged.map((r) => fetchItem(r, 'BODYSTRUCTURE')).find(Boolean));
      }
      asked.set(name, list);
      for (const question of list) {
        const { tagged, untagged } = await session.command(`UID FETCH ${uid} (${question})`);
        perQuestion.set(question, answerLines(untagged, tagged));
        if (untagged.some((r) => r.values.some(nulOutsideLiteral8))) violations.push(`${name}: ${question}: NUL outside a literal8`);
      }
    }
  } finally {
    await session.logout();
  }
  return { answers, questions: asked, violations };
}

function writeAnswers(server: string, answers: Answers): string {
  const text = [...answers].flatMap(([name, perQuestion]) => [`## ${name}`, ...[...perQuestion].flatMap(([q, lines]) => [`> ${q}`, ...lines]), '']).join('\n');
  const dir = process.env.LETTERBOX_IMAP_ANSWERS;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${server}.txt`), text);
  }
  return text;
}

/** The Letterbox account, or null when the appliance serves no IMAP (yet: the server is being written). */
async function letterboxAccount(t: Test): Promise<ImapAccountAddress | null> {
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  const port = (app.ports as Record<string, number | undefined>).imap;
  if (!port || !(await greets(port))) return null;
  await provision(app, [DOMAIN], [ALICE]);
  return { host: '127.0.0.1', port, user: ALICE, password: passwordOf(ALICE) };
}

function deliberate(name: string, question: Question): Difference[] {
  return DIFFERENCES.filter((d) => d.message === name && d.question.test(question));
}

/** An answer with the edits of `differences` applied. */
function edited(answer: string, differences: Difference[]): string {
  return differences.flatMap((d) => d.edits).reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), answer);
}

// Each target starts its own server (the appliance takes seconds on a loaded machine).
t.setTimeout(180_000);

t.test('FETCH answers are the same as Dovecot for every corpus message', async (t) => {
  const dovecot = await startDovecot(t);
  if (!dovecot) return;
  const [user, password] = Object.entries(dovecot.users)[0] as [string, string];
  const reference = await ask({ host: dovecot.host, port: dovecot.ports.imap, user, password });
  const dovecotText = writeAnswers('dovecot', reference.answers);
  t.equal(reference.answers.size, CORPUS.length, 'Dovecot answered for every corpus message');

  const letterbox = await letterboxAccount(t);
  if (!letterbox) {
    // Until the appliance serves IMAP: Dovecot's answers, for whoever writes the server.
    t.comment(dovecotText);
    missingPeer({ skip: (reason) => void t.skip(reason, () => undefined), fail: (reason) => void t.fail(reason) }, `Letterbox half: ${LETTERBOX_NOT_SERVING}`);
    return;
  }
  const { answers, violations } = await ask(letterbox, reference.questions);
  writeAnswers('letterbox', answers);
  // RFC 3501 9: CHAR8 = %x01-ff in quoted strings and literals; NUL only in BINARY's literal8 (RFC 3516 4.3).
  t.same(violations, [], 'Letterbox sends no NUL octet outside a literal8');
  const seen = new Set<Difference>();
  for (const { name } of CORPUS) {
    await t.test(name, async (t) => {
      const ours = answers.get(name) ?? new Map<Question, string[]>();
      for (const [question, theirs] of reference.answers.get(name) ?? []) {
        const mine = ours.get(question) ?? ['(not asked: the APPEND failed)'];
        const differences = deliberate(name, question);
        if (differences.length > 0 && mine.join('\n') !== theirs.join('\n')) {
          for (const d of differences) {
            seen.add(d);
            t.comment(`deliberate difference "${d.name}": ${d.why} (${d.rfc})`);
          }
          t.equal(edited(mine.join('\n'), differences), edited(theirs.join('\n'), differences), `${question} (apart from the deliberate difference)`);
          continue;
        }
        t.equal(mine.join('\n'), theirs.join('\n'), question);
      }
    });
  }
  // Exact, not broad: every deliberate difference still occurs (a fixed one is taken off the list).
  t.same(DIFFERENCES.filter((d) => !seen.has(d)).map((d) => `${d.message}: ${d.name}`), [], 'every deliberate difference named still occurs');
});
