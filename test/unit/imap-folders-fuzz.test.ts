// Whatever arguments a client sends, each folder command answers exactly once (OK, NO or BAD), writes
// only what the encoder accepts, and throws nothing but the backend's own refusals (fast-check over
// argument trees as the parser makes them, on sessions authenticated, selected, with extensions on).
import fc from 'fast-check';
import t from 'tap';
import { ImapBackendError } from '../../src/imap/backend.js';
import type { CommandSpec } from '../../src/imap/command.js';
import { commandRegistry } from '../../src/imap/commands/index.js';
import { parseSequenceSet } from '../../src/imap/wire/sequence-set.js';
import type { ImapValue } from '../../src/imap/wire/values.js';
import { MemoryAccount, RecordingContext, run, testSession } from '../helpers/imap-command-context.js';

const COMMANDS = ['SELECT', 'EXAMINE', 'CREATE', 'DELETE', 'RENAME', 'SUBSCRIBE', 'UNSUBSCRIBE', 'LIST', 'LSUB', 'STATUS', 'APPEND', 'GETQUOTAROOT', 'GETQUOTA', 'SETQUOTA'];

const WORDS = [
  'INBOX', 'inbox', 'Sent', 'Drafts', 'Archive', 'Archive/2024', 'Archive/', '/', '', '*', '%', 'a%b', 'x&Jjo', '&-', '&APw-', 'a//b', 'NIL',
  'CONDSTORE', 'QRESYNC', 'SUBSCRIBED', 'RECURSIVEMATCH', 'SPECIAL-USE', 'REMOTE', 'RETURN', 'CHILDREN', 'STATUS', 'USE',
  'MESSAGES', 'RECENT', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ', 'SIZE', 'APPENDLIMIT', 'DELETED', 'STORAGE',
  '\\Sent', '\\Seen', '\\Recent', '\\All', '\\Draft', '\\*', '$Kw', 'BODY[]',
];

const atomValue = fc.constantFrom(...WORDS.filter((w) => w !== '' && !/["\\(){ ]/.test(w.replace(/^\\/, '')))).map((text): ImapValue => ({ kind: 'atom', text }));
const stringValue = fc.oneof(
  fc.constantFrom(...WORDS).map((w) => Buffer.from(w, 'latin1')),
  fc.constantFrom(' 1-Jan-2020 00:00:00 +0000', '31-Feb-2020 00:00:00 +0000', '17-Jul-1996 02:44:25 -0700').map((w) => Buffer.from(w)),
  fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes)),
).chain((value) => fc.constantFrom('quoted', 'literal', 'literal8').map((form): ImapValue => ({ kind: 'string', value, form: form as 'quoted' | 'literal' | 'literal8' })));
const numberValue = fc.constantFrom(0, 1, 2, 7, 1000, 4294967295, 9007199254740991).map((value): ImapValue => ({ kind: 'number', text: String(value), value }));
const sequenceValue = fc.constantFrom('1:*', '*', '1,3:5', '2:1', '$', '1:4294967295').map((text): ImapValue => ({ kind: 'sequence', text, set: parseSequenceSet(text) ?? { ranges: [], lastResult: false } }));
const nilValue = fc.constant<ImapValue>({ kind: 'nil', text: 'NIL' });

const { value } = fc.letrec<{ value: ImapValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atomValue, stringValue, numberValue, sequenceValue, nilValue,
    fc.array(tie('value'), { maxLength: 5 }).map((items): ImapValue => ({ kind: 'list', items })),
  ),
}));

const registry = commandRegistry();

t.test('every folder command answers once, whatever its arguments', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...COMMANDS), fc.array(value, { maxLength: 6 }), fc.boolean(), fc.boolean(), fc.boolean(),
      async (name, args, selected, qresync, utf8) => {
        const account = new MemoryAccount();
        account.add('INBOX', ['\\Seen']);
        account.limitBytes = 1_000;
        const session = testSession(account);
        if (qresync) session.enabled.add('QRESYNC');
        if (selected) await run(session, 'S SELECT INBOX');
        if (utf8) session.enabled.add('UTF8=ACCEPT');
        const ctx = new RecordingContext({ tag: 'F', name, args }, session);
        try {
          await (registry.get(name) as CommandSpec).run(ctx);
        } catch (error) {
          if (!(error instanceof ImapBackendError)) throw error;
          ctx.no(error.message, error.code);
        }
        return ctx.answers.length === 1;
      },
    ),
    { numRuns: 3000 },
  );
  t.pass('no command threw or answered other than once');
});

t.test('parsed command lines: hostile names and patterns', async (t) => {
  const session = testSession(new MemoryAccount());
  for (const line of ['a LIST "" "%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%*a"', `a CREATE {6}\r\n\xff\xfe\x00ab`, 'a LIST "" {2}\r\n\xc3(', 'a STATUS "&2D3cAA-" (MESSAGES)', 'a SELECT "&AGEAYgBj-"']) {
    const lines = await run(session, Buffer.from(line, 'latin1'));
    t.match(lines.at(-1), /^a (OK|NO|BAD) /, JSON.stringify(line));
  }
});
