// A power-cut file system for tests (the method of LazyFS, which Jepsen uses). SIGKILL cannot find a
// missing fsync: the kernel still writes its page cache out after the process is gone. Here a FUSE
// daemon (powercut/lazyfs.py, Python on Debian's python3-fusepy) keeps every write since the last sync
// apart, and `cut()` drops it all, as losing power would:
//
// - 'data':  file contents not fsynced (fsync or fdatasync of that file) are lost; names (create, mkdir,
//            rename, unlink, rmdir) are durable at once, like ext4's ordered mode.
// - 'posix': in addition a directory's entries are durable only after an fsync of that directory
//            (`(await open(dir, 'r')).sync()`); a file's fsync keeps its contents, not its name.
//
// Usage: kill every process writing under `mountpoint` and wait for it to exit, `await fs.cut()`, start
// again on the same directory, check; `t.teardown(() => fs.unmount())` right after mounting.
// LETTERBOX_POWERCUT_DEBUG=1 copies the daemon's stderr (Python tracebacks) to this process's stderr.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingPeer, type SkipOrFail } from './peers.js';

export type CutMode = 'data' | 'posix';

/** Paths are relative to the mountpoint, starting with '/'. */
export interface PendingChanges {
  /** Per directory: names created (or now naming another inode) and removed since its last sync. */
  names: Record<string, { added: string[]; removed: string[] }>;
  /** Per file: bytes from its first change since its last sync to its end. */
  files: Record<string, number>;
}

export interface PowerCutFs {
  readonly mountpoint: string;
  readonly mode: CutMode;
  /** Drops everything not yet durable. Call only after every process writing here has exited. */
  cut(): Promise<{ droppedBytes: number; droppedNames: number }>;
  stats(): Promise<Record<string, number>>;
  /** What a cut would drop now (for a failing test's diagnostics): names per directory, bytes per file. */
  pending(): Promise<PendingChanges>;
  /** Unmounts and removes the mountpoint; safe to call twice, also after a failure. */
  unmount(): Promise<void>;
}

const DAEMON = fileURLToPath(new URL('./powercut/lazyfs.py', import.meta.url));
const INSTALL = 'apt-get install python3-fusepy fuse3';
/**
 * Debian's python3-fusepy is in the system Python; a `python3` earlier in PATH (pyenv ...) lacks it.
 * LETTERBOX_POWERCUT_PYTHON names another interpreter to use instead.
 */
const PYTHONS = process.env.LETTERBOX_POWERCUT_PYTHON ? [process.env.LETTERBOX_POWERCUT_PYTHON] : ['/usr/bin/python3', 'python3'];
/** What lazyfs.py imports: Debian names the module `fusepy`, pip `fuse`. Also loads libfuse.so.2. */
const PROBE = [
  'try:\n    import fusepy as m\nexcept ImportError:\n    import fuse as m',
  'assert hasattr(m, "FUSE") and hasattr(m, "Operations")',
].join('\n');

const MOUNT_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 60_000;
/** After a writer's exit the kernel sends FUSE_RELEASE asynchronously: how long cut() waits for it. */
const RELEASE_WAIT_MS = 5_000;
const EXIT_WAIT_MS = 5_000;

let probed: { python: string | null; missing: string | null } | undefined;

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function probe(): { python: string | null; missing: string | null } {
  if (probed) return probed;
  let missing: string | null = null;
  let python: string | null = null;
  if (process.platform !== 'linux') missing = 'Linux with FUSE';
  else if (!existsSync('/dev/fuse')) missing = 'fuse3 (/dev/fuse)';
  // As root libfuse mounts by itself; anyone else needs the setuid fusermount.
  else if (process.getuid?.() !== 0 && !onPath('fusermount3') && !onPath('fusermount')) missing = 'fuse3 (fusermount3)';
  else {
    for (const candidate of PYTHONS) {
      if (candidate.startsWith('/') && !existsSync(candidate)) continue;
      const run = spawnSync(candidate, ['-c', PROBE], { stdio: 'ignore', timeout: 20_000 });
      if (run.status === 0) {
        python = candidate;
        break;
      }
    }
    if (!python) missing = 'python3-fusepy';
  }
  probed = { python, missing };
  return probed;
}

/** null when usable; else what is missing, as a Debian package hint, e.g. 'python3-fusepy' or 'fuse3 (/dev/fuse)'. */
export function powerCutUnavailable(): string | null {
  return probe().missing;
}

/**
 * true when the power-cut file system can be mounted; else skips the test with the packages to install
 * (or fails it under LETTERBOX_REQUIRE_PEERS=1, as in CI) and returns false.
 */
export function needPowerCut(t: SkipOrFail): boolean {
  const missing = powerCutUnavailable();
  if (!missing) return true;
  missingPeer(t, `the power-cut file system needs ${missing} (${INSTALL})`);
  return false;
}

/** /proc/self/mountinfo's mount point field escapes space, tab, newline and backslash as \ooo. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function isMounted(mountpoint: string): boolean {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false;
  }
  return info.split('\n').some((line) => {
    const field = line.split(' ')[4];
    return field !== undefined && unescapeMountField(field) === mountpoint;
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves true when the child has exited, false after `ms` (the timer is the only wait). */
function waitExit(exited: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface Pending {
  resolve(reply: Record<string, unknown>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

class Mounted implements PowerCutFs {
  private readonly waiting: Pending[] = [];
  private partial = '';
  private stderrTail = '';
  private exitedAt: string | null = null;
  private readonly exited: Promise<void>;
  private unmounting: Promise<void> | undefined;

  constructor(
    readonly mountpoint: string,
    readonly mode: CutMode,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitedAt = `exited with ${signal ?? `code ${code}`}`;
        for (const waiter of this.waiting.splice(0)) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error(`power-cut daemon ${this.exitedAt}${this.stderrSuffix()}`));
        }
        resolve();
      });
      // A failure to spawn at all comes as 'error' without 'exit'.
      child.once('error', (err) => {
        if (this.exitedAt) return;
        this.stderrTail += `\n${err.message}`;
        this.exitedAt = 'failed to start';
        resolve();
      });
    });
    child.stdout?.on('data', (chunk: Buffer) => this.onStdout(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      if (process.env.LETTERBOX_POWERCUT_DEBUG === '1') process.stderr.write(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });
    child.stdin?.on('error', () => undefined); // EPIPE once the daemon is gone: 'exit' reports it
    // A test that forgets to unmount must not hang on this child: the daemon sees EOF on its stdin
    // when this process exits, and unmounts and exits by itself.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
  }

  private stderrSuffix(): string {
    const tail = this.stderrTail.trim();
    return tail ? `; its stderr ends:\n${tail}` : '';
  }

  private onStdout(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const waiter = this.waiting.shift();
      if (!waiter) continue;
      clearTimeout(waiter.timer);
      try {
        waiter.resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        waiter.reject(new Error(`power-cut daemon answered ${JSON.stringify(line)}`));
      }
    }
  }

  /** One command, one JSON line back; the daemon answers in order, so a FIFO matches them. */
  private request(command: string): Promise<Record<string, unknown>> {
    if (this.exitedAt) return Promise.reject(new Error(`power-cut daemon ${this.exitedAt}${this.stderrSuffix()}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new Error(`power-cut daemon did not answer ${command} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      const waiter: Pending = {
        resolve: (reply) => {
          if (reply.ok === true) resolve(reply);
          else reject(new Error(`power-cut daemon: ${command}: ${String(reply.error)}`));
        },
        reject,
        timer,
      };
      this.waiting.push(waiter);
      this.child.stdin?.write(`${command}\n`);
    });
  }

  async stats(): Promise<Record<string, number>> {
    const reply = await this.request('stats');
    const out: Record<string, number> = {};
    for (const [key, value] of Object.entries(reply)) if (typeof value === 'number') out[key] = value;
    return out;
  }

  async pending(): Promise<PendingChanges> {
    const { names, files } = await this.request('pending');
    return { names, files } as unknown as PendingChanges;
  }

  async cut(): Promise<{ droppedBytes: number; droppedNames: number }> {
    // A killed writer's files are closed at its exit, but the kernel tells the daemon (FUSE_RELEASE)
    // in the background: wait for the handles to go, and refuse to cut under a live writer.
    const deadline = Date.now() + RELEASE_WAIT_MS;
    for (;;) {
      const { openHandles = 0 } = await this.stats();
      if (openHandles === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `power-cut: ${openHandles} file(s) or directories still open under ${this.mountpoint}; ` +
            'stop every process using it (and close this process\'s handles) before cut()',
        );
      }
      await sleep(20);
    }
    const reply = await this.request('cut');
    return { droppedBytes: Number(reply.droppedBytes), droppedNames: Number(reply.droppedNames) };
  }

  unmount(): Promise<void> {
    this.unmounting ??= this.doUnmount();
    return this.unmounting;
  }

  private async doUnmount(): Promise<void> {
    // SIGTERM: libfuse's handler ends its loop, unmounts (lazily, as root) and the daemon exits.
    if (!this.exitedAt) {
      this.child.kill('SIGTERM');
      if (!(await waitExit(this.exited, EXIT_WAIT_MS))) {
        this.child.kill('SIGKILL');
        await waitExit(this.exited, EXIT_WAIT_MS);
      }
    }
    // A daemon that was killed leaves its mount behind ("Transport endpoint is not connected"):
    // detach it. Each tool gets a bounded time, so this never hangs.
    for (const [command, args] of [
      ['fusermount3', ['-u', '-z', this.mountpoint]],
      ['fusermount', ['-u', '-z', this.mountpoint]],
      ['umount', ['-l', this.mountpoint]],
    ] as const) {
      if (!isMounted(this.mountpoint)) break;
      spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    }
    if (isMounted(this.mountpoint)) {
      throw new Error(`power-cut: ${this.mountpoint} is still mounted (umount -l ${this.mountpoint})`);
    }
    // rmdir, never a recursive removal: if anything were still mounted there, its files would go.
    try {
      rmdirSync(this.mountpoint);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** Until the mount shows in mountinfo; rejects when the daemon exits first or after a timeout. */
  async waitMounted(): Promise<void> {
    const deadline = Date.now() + MOUNT_TIMEOUT_MS;
    while (!isMounted(this.mountpoint)) {
      if (this.exitedAt) throw new Error(`power-cut daemon ${this.exitedAt} before mounting${this.stderrSuffix()}`);
      if (Date.now() > deadline) throw new Error(`power-cut: ${this.mountpoint} not mounted after ${MOUNT_TIMEOUT_MS} ms${this.stderrSuffix()}`);
      await sleep(20);
    }
  }
}

/** Mounts a fresh, empty power-cut file system on a new directory under os.tmpdir(). */
export async function mountPowerCutFs(mode: CutMode): Promise<PowerCutFs> {
  const { python, missing } = probe();
  if (missing || !python) throw new Error(`the power-cut file system needs ${missing} (${INSTALL})`);
  const mountpoint = mkdtempSync(join(tmpdir(), 'letterbox-powercut-'));
  const child = spawn(python, [DAEMON, '--mode', mode, mountpoint], { stdio: ['pipe', 'pipe', 'pipe'] });
  const fs = new Mounted(mountpoint, mode, child);
  try {
    await fs.waitMounted();
  } catch (err) {
    await fs.unmount().catch(() => undefined);
    throw err;
  }
  return fs;
}
