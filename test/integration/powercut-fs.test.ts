// The power-cut file system's own test (test/helpers/powercut.ts, the method of LazyFS): in both modes,
// what a cut keeps and what it drops. Every file is read back before the cut, so the kernel's page cache
// holds the live bytes: the reads after the cut show that no stale cache hides the durable state.
// Then LevelDB runs on it (its fcntl LOCK, its mmap'ed tables) and keeps what it wrote with sync; and
// the intended use, a LevelDB writer SIGKILLed before the cut. That one also shows what `posix` finds:
// LevelDB 1.20 does not fsync its directory after starting a new log, so a batch acknowledged into a
// log whose name is not yet durable is lost at a cut under strict POSIX rules (not under `data` rules,
// which are ext4's in practice).
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { mountPowerCutFs, needPowerCut, type CutMode, type PowerCutFs } from '../helpers/powercut.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODES: CutMode[] = ['data', 'posix'];

async function mounted(t: Test, mode: CutMode): Promise<PowerCutFs> {
  const fs = await mountPowerCutFs(mode);
  t.teardown(() => fs.unmount());
  return fs;
}

type Sync = 'none' | 'fsync' | 'fdatasync';

/** Writes (flags 'w': create or truncate; 'a': append; 'r+': in place at `position`), syncs as told, closes. */
async function put(path: string, data: string | Buffer, sync: Sync = 'none', flags = 'w', position?: number): Promise<void> {
  const fh = await open(path, flags);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await fh.write(bytes, 0, bytes.length, position ?? null);
    if (sync === 'fsync') await fh.sync();
    if (sync === 'fdatasync') await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** fsync of a directory: FUSE's fsyncdir. */
async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The file's contents as text, or null when it does not exist. */
async function contents(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

const usable = needPowerCut(t);

if (usable) {
  for (const mode of MODES) {
    t.test(`${mode}: an unsynced write is lost at a cut`, async (t) => {
      const fs = await mounted(t, mode);
      const fresh = join(fs.mountpoint, 'fresh');
      const kept = join(fs.mountpoint, 'kept');
      const same = join(fs.mountpoint, 'same-size');
      await put(kept, 'old contents', 'fsync');
      await put(same, 'synced!!', 'fsync');
      await put(fresh, 'never synced');
      await syncDir(fs.mountpoint); // all names durable: only contents are at stake here
      await put(kept, 'overwritten, not synced');
      await put(same, 'unsynced'); // same size, and a cut keeps times: no attribute tells the kernel
      t.equal(await contents(fresh), 'never synced', 'the writer sees its write before the cut');
      t.equal(await contents(kept), 'overwritten, not synced');
      t.equal(await contents(same), 'unsynced');
      const dropped = await fs.cut();
      t.same(dropped, { droppedBytes: 'never synced'.length + 'overwritten, not synced'.length + 'unsynced'.length, droppedNames: 0 });
      t.equal(await contents(fresh), '', 'a created file never synced survives, empty');
      t.equal(await contents(kept), 'old contents', 'an overwrite never synced is undone');
      t.equal(await contents(same), 'synced!!', 'no stale page cache: the next open reads the durable bytes');
      const stats = await fs.stats();
      t.equal(stats.cuts, 1);
      t.equal(stats.fsyncs, 2);
      t.equal(stats.fsyncdirs, 1);
    });

    t.test(`${mode}: a write synced with fsync or fdatasync is kept`, async (t) => {
      const fs = await mounted(t, mode);
      await put(join(fs.mountpoint, 'fsynced'), 'kept by fsync', 'fsync');
      await put(join(fs.mountpoint, 'fdatasynced'), 'kept by fdatasync', 'fdatasync');
      await syncDir(fs.mountpoint);
      t.equal(await contents(join(fs.mountpoint, 'fsynced')), 'kept by fsync');
      t.same(await fs.cut(), { droppedBytes: 0, droppedNames: 0 });
      t.equal(await contents(join(fs.mountpoint, 'fsynced')), 'kept by fsync');
      t.equal(await contents(join(fs.mountpoint, 'fdatasynced')), 'kept by fdatasync');
      const stats = await fs.stats();
      t.equal(stats.fsyncs, 1);
      t.equal(stats.fdatasyncs, 1);
    });

    t.test(`${mode}: a write after the sync is lost, the synced part kept`, async (t) => {
      const fs = await mounted(t, mode);
      const overwritten = join(fs.mountpoint, 'overwritten');
      const truncated = join(fs.mountpoint, 'truncated');
      await put(overwritten, 'AAAAAAAA', 'fsync');
      await put(overwritten, 'BBBBBBBBBBBB', 'none', 'r+', 4); // over the tail and past the end
      await put(truncated, 'CCCCCCCC', 'fdatasync');
      const fh = await open(truncated, 'r+');
      await fh.truncate(3);
      await fh.close();
      await syncDir(fs.mountpoint);
      t.equal(await contents(overwritten), 'AAAABBBBBBBBBBBB');
      t.equal(await contents(truncated), 'CCC');
      await fs.cut();
      t.equal(await contents(overwritten), 'AAAAAAAA', 'the synced contents, not a byte more');
      t.equal(await contents(truncated), 'CCCCCCCC', 'a truncate is content: undone without a sync');
    });

    t.test(`${mode}: an append-only file synced in the middle keeps exactly the synced prefix`, async (t) => {
      const fs = await mounted(t, mode);
      const log = join(fs.mountpoint, 'log');
      const chunks = Array.from({ length: 100 }, () => randomBytes(1000));
      const fh = await open(log, 'a');
      for (const [i, chunk] of chunks.entries()) {
        await fh.write(chunk);
        if (i === 49 || i === 74) await fh.sync();
      }
      await fh.close();
      await syncDir(fs.mountpoint);
      t.equal((await readFile(log)).length, 100_000, 'all of it is there before the cut');
      const synced = Buffer.concat(chunks.slice(0, 75));
      const stats = await fs.stats();
      // Each fsync copies only what was appended since the previous one.
      t.equal(stats.bytesSynced, 75_000, 'the second sync copied only the new tail');
      t.same(await fs.cut(), { droppedBytes: 25_000, droppedNames: 0 });
      t.ok((await readFile(log)).equals(synced), 'exactly the 75 000 bytes synced');
      // The kernel's idea of the size must follow the cut too, or an append would leave a gap.
      await put(log, 'after the cut', 'fsync', 'a');
      t.ok((await readFile(log)).equals(Buffer.concat([synced, Buffer.from('after the cut')])), 'appends after the cut continue the prefix');
    });

    t.test(`${mode}: a create with its contents fsynced but not its directory`, async (t) => {
      const fs = await mounted(t, mode);
      const file = join(fs.mountpoint, 'created');
      await put(file, 'contents synced', 'fsync');
      t.equal(await contents(file), 'contents synced');
      const dropped = await fs.cut();
      if (mode === 'posix') {
        t.equal(dropped.droppedNames, 1);
        t.equal(await contents(file), null, 'posix: a name never made durable is gone, contents and all');
        t.same(await readdir(fs.mountpoint), []);
        await put(file, 'contents synced', 'fsync');
        await syncDir(fs.mountpoint);
        await fs.cut();
        t.equal(await contents(file), 'contents synced', 'posix: kept once its directory was synced');
      } else {
        t.same(dropped, { droppedBytes: 0, droppedNames: 0 });
        t.equal(await contents(file), 'contents synced', 'data: names are durable at once');
      }
    });

    t.test(`${mode}: a rename, also over an existing file`, async (t) => {
      const fs = await mounted(t, mode);
      const dir = fs.mountpoint;
      await put(join(dir, 'old'), 'moved', 'fsync');
      await put(join(dir, 'CURRENT'), 'v1', 'fsync');
      await syncDir(dir);
      await rename(join(dir, 'old'), join(dir, 'new'));
      // LevelDB's way of replacing CURRENT: a synced temporary file renamed over it.
      await put(join(dir, 'CURRENT.tmp'), 'v2', 'fsync');
      await rename(join(dir, 'CURRENT.tmp'), join(dir, 'CURRENT'));
      t.same((await readdir(dir)).sort(), ['CURRENT', 'new']);
      t.equal(await contents(join(dir, 'CURRENT')), 'v2');
      await fs.cut();
      if (mode === 'posix') {
        t.same((await readdir(dir)).sort(), ['CURRENT', 'old'], 'posix: both renames undone without a directory sync');
        t.equal(await contents(join(dir, 'old')), 'moved');
        t.equal(await contents(join(dir, 'CURRENT')), 'v1', 'posix: the replaced file is back');
      } else {
        t.same((await readdir(dir)).sort(), ['CURRENT', 'new'], 'data: renames are durable at once');
        t.equal(await contents(join(dir, 'new')), 'moved');
        t.equal(await contents(join(dir, 'CURRENT')), 'v2');
      }
      // With the directory synced after the renames, both modes keep them.
      await put(join(dir, 'CURRENT.tmp'), 'v3', 'fsync');
      await rename(join(dir, 'CURRENT.tmp'), join(dir, 'CURRENT'));
      if (mode === 'posix') await rename(join(dir, 'old'), join(dir, 'new'));
      await syncDir(dir);
      t.same(await fs.cut(), { droppedBytes: 0, droppedNames: 0 });
      t.same((await readdir(dir)).sort(), ['CURRENT', 'new']);
      t.equal(await contents(join(dir, 'CURRENT')), 'v3');
      t.equal(await contents(join(dir, 'new')), 'moved');
    });

    t.test(`${mode}: an unlink`, async (t) => {
      const fs = await mounted(t, mode);
      const file = join(fs.mountpoint, 'doomed');
      await put(file, 'still here?', 'fsync');
      await syncDir(fs.mountpoint);
      await unlink(file);
      t.equal(await contents(file), null);
      await fs.cut();
      if (mode === 'posix') t.equal(await contents(file), 'still here?', 'posix: undone without a directory sync');
      else t.equal(await contents(file), null, 'data: durable at once');
      if (mode === 'posix') {
        await unlink(file);
        await syncDir(fs.mountpoint);
        await fs.cut();
        t.equal(await contents(file), null, 'posix: kept after a directory sync');
      }
    });

    t.test(`${mode}: mkdir and rmdir`, async (t) => {
      const fs = await mounted(t, mode);
      const dir = join(fs.mountpoint, 'made');
      const nested = join(fs.mountpoint, 'outer', 'inner');
      await mkdir(dir);
      await mkdir(nested, { recursive: true });
      await put(join(nested, 'file'), 'deep', 'fsync');
      await syncDir(nested); // the file's name is durable in `inner`, but `inner` and `outer` are not
      await fs.cut();
      if (mode === 'posix') {
        t.same(await readdir(fs.mountpoint), [], 'posix: directories undone without a sync of their parent');
        await mkdir(dir);
        await mkdir(nested, { recursive: true });
        await put(join(nested, 'file'), 'deep', 'fsync');
        await syncDir(nested);
        await syncDir(join(fs.mountpoint, 'outer'));
        await syncDir(fs.mountpoint);
        await fs.cut();
      }
      t.ok(await exists(dir), 'the directory is kept (posix: after syncing its parent)');
      t.equal(await contents(join(nested, 'file')), 'deep');
      await rmdir(dir);
      await fs.cut();
      t.equal(await exists(dir), mode === 'posix', 'rmdir: posix undoes it without a directory sync, data keeps it');
    });

    t.test(`${mode}: open handles survive rename and unlink; statfs reports room`, async (t) => {
      const fs = await mounted(t, mode);
      const first = join(fs.mountpoint, 'first');
      const fh = await open(first, 'w+');
      try {
        await fh.write('one ');
        await rename(first, join(fs.mountpoint, 'second'));
        await fh.write('two');
        await fh.sync();
        t.equal((await fh.stat()).size, 7, 'fstat after rename');
      } finally {
        await fh.close();
      }
      await syncDir(fs.mountpoint);
      const gone = await open(join(fs.mountpoint, 'gone'), 'w+');
      try {
        await unlink(join(fs.mountpoint, 'gone'));
        await gone.write('unlinked but open');
        await gone.sync();
        const { bytesRead, buffer } = await gone.read(Buffer.alloc(64), 0, 64, 0);
        t.equal(buffer.subarray(0, bytesRead).toString(), 'unlinked but open');
        t.equal((await gone.stat()).size, 17, 'fstat after unlink');
        t.same(await readdir(fs.mountpoint), ['second'], 'no .fuse_hidden name shows');
      } finally {
        await gone.close();
      }
      t.same(await readdir(fs.mountpoint), ['second']);
      const room = await statfs(fs.mountpoint);
      t.ok(room.bavail * room.bsize >= 60 * 1024 ** 3, 'statfs: plenty of free space');
      await fs.cut();
      t.equal(await contents(join(fs.mountpoint, 'second')), 'one two');
    });
  }

  t.test('LevelDB on it: the LOCK, mmap, and what was written with sync survives a cut', async (t) => {
    for (const mode of MODES) {
      const fs = await mounted(t, mode);
      const location = join(fs.mountpoint, 'db');
      // A small write buffer, so the writes make several tables (read back through mmap) and compactions.
      const options = { writeBufferSize: 64 * 1024 };
      const value = (i: number) => `${i}:`.padEnd(2000, String.fromCharCode(97 + (i % 26)));
      // LevelDB syncs its own directory, never the parent: in `posix` mode a directory it made itself
      // would vanish at the cut, so the test makes it durable first (as the appliance's setup must).
      await mkdir(location);
      await syncDir(fs.mountpoint);
      let db = new Level<string, string>(location, options);
      await db.open();
      // A second process cannot open it: the kernel does the LOCK file's fcntl locking on this mount.
      const second = await run(
        `import { Level } from 'level'; const db = new Level(${JSON.stringify(location)});` +
          `try { await db.open(); console.log('opened'); await db.close(); } catch (e) { console.log(e.cause?.message ?? e.message); }`,
      );
      t.match(second, /lock/i, `${mode}: the LOCK is held against another process (${second})`);
      for (let i = 0; i < 600; i += 50) {
        await db.batch(Array.from({ length: 50 }, (_, j) => ({ type: 'put' as const, key: `k${String(i + j).padStart(4, '0')}`, value: value(i + j) })), { sync: true });
      }
      await db.put('unsynced', 'written without sync');
      await db.close();
      const dropped = await fs.cut();
      t.ok(dropped.droppedBytes > 0, `${mode}: the cut dropped LevelDB's unsynced writes (${dropped.droppedBytes} bytes)`);
      for (let round = 0; round < 2; round++) {
        db = new Level<string, string>(location, options);
        await db.open();
        const keys = await db.keys({ lt: 'k~' }).all();
        t.equal(keys.length, 600, `${mode}, open ${round + 1} after a cut: every synced key`);
        t.equal(await db.get('k0333'), value(333));
        // The tables LevelDB read are mapped into this process: mmap works on the mount.
        const maps = await readFile('/proc/self/maps', 'utf8');
        t.ok(maps.split('\n').some((line) => line.includes(`${location}/`) && line.endsWith('.ldb')), `${mode}: .ldb tables are mmap'ed`);
        t.equal(await db.get('unsynced'), undefined, `${mode}: the write without sync is gone`);
        await db.close();
        await fs.cut(); // the reopen's own writes (recovery, new tables) are synced by LevelDB, or redone
      }
      t.comment(`${mode}: ${JSON.stringify(await fs.stats())}`);
    }
  });
}

if (usable) {
  t.test('the intended use: a LevelDB writer SIGKILLed, then a cut: what was acknowledged is there', async (t) => {
    for (const mode of MODES) {
      const fs = await mounted(t, mode);
      const location = join(fs.mountpoint, 'db');
      await mkdir(location);
      await syncDir(fs.mountpoint);
      // The writer prints each batch's number once LevelDB acknowledged it (written with sync).
      const writer = spawnModule(
        `import { Level } from 'level'; const db = new Level(${JSON.stringify(location)}, { writeBufferSize: 64 * 1024 });` +
          `await db.open(); for (let i = 0; ; i++) {` +
          `  await db.batch(Array.from({ length: 10 }, (_, j) => ({ type: 'put', key: 'k' + String(i * 10 + j).padStart(6, '0'), value: 'v'.repeat(1000) })), { sync: true });` +
          `  await db.put('unsynced' + i, 'x'); process.stdout.write(i + '\\n'); }`,
      );
      t.teardown(() => void writer.kill('SIGKILL'));
      let acknowledged = -1;
      const exited = new Promise<void>((resolve) => writer.once('exit', () => resolve()));
      await new Promise<void>((resolve) => {
        writer.stdout.on('data', (chunk: Buffer) => {
          for (const line of chunk.toString('utf8').split('\n')) if (line) acknowledged = Number(line);
          if (acknowledged >= 40) resolve();
        });
        void exited.then(() => resolve());
      });
      writer.kill('SIGKILL');
      await exited;
      t.ok(acknowledged >= 40, `${mode}: ${acknowledged + 1} batches acknowledged before the kill`);
      const pending = await fs.pending();
      const dropped = await fs.cut();
      t.ok(dropped.droppedBytes > 0, `${mode}: the cut dropped unsynced bytes (${dropped.droppedBytes})`);
      const db = new Level<string, string>(location);
      await db.open();
      try {
        const keys = await db.keys({ gte: 'k', lt: 'k~' }).all();
        const acked = (acknowledged + 1) * 10;
        t.ok(keys.every((key, i) => key === `k${String(i).padStart(6, '0')}`), `${mode}: the keys kept are a prefix, in whole batches`);
        t.equal(keys.length % 10, 0);
        // LevelDB 1.20 (classic-level) fsyncs its directory only with the MANIFEST: the name of a log it
        // has just started is not durable until the next memtable flush is recorded. Under `posix`
        // rules, batches acknowledged into such a log are lost with its name. That, and only that, may
        // lose an acknowledged batch here.
        const fresh = (pending.names['/db']?.added ?? []).filter((name) => name.endsWith('.log'));
        if (mode === 'posix' && fresh.length > 0) {
          t.ok(keys.length <= acked, `${mode}: ${(acked - keys.length) / 10} acknowledged batch(es) lost with the log ${fresh.join(', ')} whose name was not durable`);
        } else {
          t.ok(keys.length >= acked, `${mode}: all ${acked} acknowledged keys (of ${keys.length})`, { pending });
        }
      } finally {
        await db.close();
      }
    }
  });
}

/** Spawns an ES module snippet in another Node process from the project's root. */
function spawnModule(code: string) {
  return spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Runs an ES module snippet in another Node process from the project's root; its stdout. */
function run(code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnModule(code);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
  });
}
