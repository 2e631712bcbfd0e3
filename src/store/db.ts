// How the store works
// -------------------
// Everything Letterbox keeps lives in one LevelDB (npm `level`, classic-level underneath), split into
// sublevels. Keys are strings; values are JSON except message chunks, which are raw bytes.
//
//   meta         schema            -> number         layout version; see MIGRATIONS below
//   settings     <name>            -> JSON           relay, panel choices, anything set at run time
//   domains      <domain>          -> {addedAt}      domains this box receives mail for
//   users        <address>         -> UserRecord     password hash (scrypt, parameters included), quota
//   aliases      <alias|@domain>   -> {targets[]}    aliases; `@domain` is the domain's catch-all
//   folders      <user>\0<name>    -> FolderRecord   id, uidValidity, uidNext, highestModseq, messages,
//                                                    unseen, bytes, specialUse, subscribed (name: levels
//                                                    joined with `/`, INBOX spelled `INBOX`)
//   entries      <folderId>\0<uid, 10 digits> -> FolderEntryRecord   one message in one folder, its
//                                                    flags, internal date and MODSEQ (RFC 7162)
//   vanished     <folderId>\0<uid, 10 digits> -> number  MODSEQ of the expunge of that UID (QRESYNC)
//   indexes      <messageId>       -> JSON           what the MessageIndexer made of the message
//   summaries    <messageId>       -> text           a backend's small digest of the index (the IMAP
//                                                    ENVELOPE), written with a message stored in a folder
//                                                    (or when first made); a cache: deleted with the
//                                                    message, made again when missing
//   listings     <folderId>        -> text           a large folder's entries in one record, written at a
//                                                    clean stop and taken at the next start (folder-listings.ts)
//   messages     <messageId>       -> MessageRecord  size, chunk count, reference count
//   bodies       <messageId>\0<chunk, 8 hex digits> -> bytes   the message, CHUNK_SIZE at a time
//   pending      <messageId>       -> {startedAt}    chunks being written for a message not yet committed
//   queue        <queueId>         -> QueueEntry     outbound message with state per recipient
//   counters     <name>            -> number         statistics (received, delivered, bounced ...)
//   damaged      <messageId>       -> DamagedRecord  a message `letterbox check` found incomplete, set
//                                                    aside with what pointed at it (its bodies are kept)
//   meta         uidValidity       -> number         the last UIDVALIDITY given out, so that a folder
//                                                    made again under a name never reuses one
//
// Schema history: version 1 kept one INBOX per user, `mailboxes` <user>\0<name> -> {uidValidity,
// uidNext, messages, bytes} and `entries` <user>\0<name>\0<uid> -> {messageId, size, flags,
// internalDate}. Version 2 (migrate-v2.ts) turned those into folders and folder entries; the
// `mailboxes` key space is read only by that migration and is empty afterwards.
//
// Durability (principle 1: nothing is acknowledged that a power cut can take back). Every write is
// a synced batch: LevelDB fdatasyncs its log before the write resolves. That alone is not enough, and
// the reasons decide the rules below:
// - A synced write makes only itself durable, not the unsynced writes before it. LevelDB replays each
//   log as a prefix, but when the memtable fills it closes the old log without syncing it and starts a
//   new one; a synced commit in the new log then survives a cut that drops the old log's unsynced tail.
//   So no write is ever unsynced: a message that fits in one chunk is written whole in its commit batch;
//   a longer one has each chunk written in its own synced batch (the first with its `pending` marker)
//   and then the commit batch. Deletions of abandoned chunks go with their marker in one batch.
// - A new log file's name is not made durable by syncing the file (POSIX), and LevelDB 1.20 fsyncs the
//   directory only with a MANIFEST. NameSync (name-sync.ts) fsyncs the directory after any synced batch
//   that finds a new file in it, before the write lane says "done"; and once after open.
// - Anything outside LevelDB (certificates) is written with core/durable-files.ts.
// At start, every message still `pending` is swept: a crash mid-transfer leaves nothing behind. After
// a stop that was not clean (`meta/running` still set), check.ts verifies every message whole before
// the services start; `letterbox check` does the same on demand.
//
// A message delivered to several folders (of one user or several) and the queue is stored once;
// MessageRecord.refs counts the folder entries and queue entries that point at it, and its bodies and
// index go when it reaches zero. Folder records are few and are all held in memory (folder-table.ts),
// kept in step by the write lane, so LIST, STATUS and quota questions read no disk.
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AbstractSublevel } from 'abstract-level';
import { Level } from 'level';
import { syncDirectory, syncFile } from '../core/durable-files.js';
import { LetterboxError } from '../core/errors.js';
import type { MessageIndexerFactory } from '../core/interfaces.js';
import { Batch } from './batch.js';
import { migrateToFolders } from './migrate-v2.js';

export const SCHEMA_VERSION = 2;
export const CHUNK_SIZE = 64 * 1024;
// LevelDB's memtable (4 MiB by default) is held twice while it is flushed; message chunks pass straight
// through it, so a smaller one keeps a Pi's memory for mail rather than for the write buffer.
const WRITE_BUFFER_SIZE = 1024 * 1024;

type Json = unknown;
type Format = string | Buffer | Uint8Array;
export type JsonSublevel = AbstractSublevel<Level<string, Json>, Format, string, Json>;
export type BytesSublevel = AbstractSublevel<Level<string, Json>, Format, string, Uint8Array>;

function bytesSublevel(db: Level<string, Json>): BytesSublevel {
  return db.sublevel<string, Uint8Array>('bodies', { valueEncoding: 'view' });
}

export interface Sublevels {
  meta: JsonSublevel;
  settings: JsonSublevel;
  domains: JsonSublevel;
  users: JsonSublevel;
  aliases: JsonSublevel;
  /** Schema 1 only: read by the migration to schema 2. */
  mailboxes: JsonSublevel;
  folders: JsonSublevel;
  entries: JsonSublevel;
  vanished: JsonSublevel;
  indexes: JsonSublevel;
  /** Backends' digests of indexes (FolderStore.saveSummaries): a cache beside `indexes`. */
  summaries: JsonSublevel;
  /** Folder listings (folder-listings.ts): a cache of `entries`, as text. */
  listings: JsonSublevel;
  messages: JsonSublevel;
  bodies: BytesSublevel;
  pending: JsonSublevel;
  queue: JsonSublevel;
  counters: JsonSublevel;
  damaged: JsonSublevel;
}

/**
 * Upgrades from version N to N+1: each fills one batch, written atomically and synced together with
 * the new version number, so a store is wholly of one version whatever instant a crash comes at.
 * Index 0 upgrades 1 -> 2.
 */
type Migration = (sub: Sublevels, batch: Batch, options: OpenOptions) => Promise<void>;
const MIGRATIONS: Migration[] = [migrateToFolders];

/**
 * Renders a message's summary (the `summaries` key space) from its index; undefined for none. Given by
 * the backend that reads the summaries, so the store needs not know what they hold.
 */
export type MessageSummarizer = (index: unknown) => string | undefined;

export interface OpenOptions {
  /** Indexes each message as it is written (and those a migration finds). */
  indexer?: MessageIndexerFactory;
  /** Writes each message's summary with it at commit, so a first FETCH after delivery reads no index. */
  summarize?: MessageSummarizer;
}

export interface OpenDb {
  db: Level<string, Json>;
  sub: Sublevels;
}

// writeBufferSize is classic-level's (LevelDB) option; `level`'s types list only the common ones.
const OPTIONS = { valueEncoding: 'json', writeBufferSize: WRITE_BUFFER_SIZE } as { valueEncoding: 'json' };

export async function openDb(location: string, options: OpenOptions = {}): Promise<OpenDb> {
  if (!(await isStore(location))) await createStore(location);
  const db = new Level<string, Json>(location, OPTIONS);
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if ((err as { code?: string }).code === 'LEVEL_DATABASE_NOT_OPEN' && /lock/i.test(cause?.message ?? '')) {
      throw new LetterboxError('STORE_BUSY', `the store at ${location} is in use by another process`, { cause: err });
    }
    throw new LetterboxError('STORE_FAILED', `cannot open the store at ${location}: ${cause?.message ?? (err as Error).message}`, { cause: err });
  }
  const json = (name: string): JsonSublevel => db.sublevel<string, Json>(name, { valueEncoding: 'json' });
  const sub: Sublevels = {
    meta: json('meta'),
    settings: json('settings'),
    domains: json('domains'),
    users: json('users'),
    aliases: json('aliases'),
    mailboxes: json('mailboxes'),
    folders: json('folders'),
    entries: json('entries'),
    vanished: json('vanished'),
    indexes: json('indexes'),
    // Text as the backend gave it: neither parsed nor serialised on the way (read in thousands by a sync).
    summaries: db.sublevel<string, Json>('summaries', { valueEncoding: 'utf8' }),
    listings: db.sublevel<string, Json>('listings', { valueEncoding: 'utf8' }),
    messages: json('messages'),
    bodies: bytesSublevel(db),
    pending: json('pending'),
    queue: json('queue'),
    counters: json('counters'),
    damaged: json('damaged'),
  };
  await migrate(db, sub, options);
  return { db, sub };
}

async function isStore(location: string): Promise<boolean> {
  return stat(join(location, 'CURRENT')).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

/**
 * Makes a new, empty store beside its final name and renames it into place once every file of it is
 * durable. LevelDB 1.20 closes its first MANIFEST without syncing it and then points a synced CURRENT
 * at it: a power cut there leaves a store that never opens again ("no meta-nextfile entry"). A store
 * directory without CURRENT holds nothing LevelDB can read, so it is made again.
 */
async function createStore(location: string): Promise<void> {
  const building = `${location}.new`;
  await rm(building, { recursive: true, force: true });
  const db = new Level<string, Json>(building, OPTIONS);
  await db.open();
  await db.close();
  for (const name of await readdir(building)) await syncFile(join(building, name));
  await syncDirectory(building);
  await rm(location, { recursive: true, force: true });
  await rename(building, location);
  await syncDirectory(dirname(location));
}

async function migrate(db: Level<string, Json>, sub: Sublevels, options: OpenOptions): Promise<void> {
  let version = (await sub.meta.get('schema')) as number | undefined;
  if (version === undefined) {
    await db.batch([{ type: 'put', sublevel: sub.meta, key: 'schema', value: SCHEMA_VERSION }] as never, { sync: true });
    return;
  }
  if (version > SCHEMA_VERSION) {
    throw new LetterboxError('STORE_FAILED', `the store has schema version ${version}, newer than this Letterbox (${SCHEMA_VERSION}); upgrade Letterbox`);
  }
  while (version < SCHEMA_VERSION) {
    const step = MIGRATIONS[version - 1];
    if (!step) throw new LetterboxError('STORE_FAILED', `no migration from schema version ${version}`);
    const batch = new Batch(db);
    await step(sub, batch, options);
    version += 1;
    batch.put(sub.meta, 'schema', version);
    await batch.write(true);
  }
}
