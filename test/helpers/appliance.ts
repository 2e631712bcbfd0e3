// Runs the real appliance (`node dist/cli.js serve`) as a child process on free loopback ports in a
// temporary data directory, and drives the `letterbox` command against it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTNAME } from './addresses.js';
import { freePorts, isAddressInUse, retryOnAddressInUse } from './ports.js';
import { Changes } from './wait.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface ApplianceOptions {
  /** Merged over the test defaults (ports, listen, dataDir are set here). */
  config?: Record<string, unknown>;
  dataDir?: string;
  /** Where config.json is written (default: the data directory); outside it when that is on a power-cut file system. */
  configDir?: string;
}

export interface RunningAppliance {
  dataDir: string;
  configFile: string;
  /** imap and imaps too: the IMAP service on 143-style (STARTTLS) and 993-style (TLS) ports. */
  ports: { smtp: number; submission: number; smtps: number; imap: number; imaps: number };
  child: ChildProcess;
  /** Every log line the process printed so far, parsed (over restarts too). */
  logs: Record<string, unknown>[];
  /** The first log line (so far or to come) that `match` accepts; rejects after `timeoutMs`, naming `what`. */
  waitForLog(match: (entry: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Runs a `letterbox` command against this appliance's config; resolves with stdout, stderr, exit code. */
  cli(args: string[], stdin?: string): Promise<{ stdout: string; stderr: string; code: number }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts it again on the same ports and data (after a crash, say). */
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Tells `waitForLog` of each new line; one per appliance, kept over restarts. */
const logChanges = new WeakMap<RunningAppliance, Changes>();

/**
 * Starts the appliance on five fresh ports (three SMTP, two IMAP); when another process took one of them
 * before the child could listen (EADDRINUSE), starts it again on five others, a few times.
 */
export async function startAppliance(options: ApplianceOptions = {}): Promise<RunningAppliance> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'letterbox-test-'));
  try {
    return await retryOnAddressInUse(() => startOnFreePorts(dataDir, options));
  } catch (err) {
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function startOnFreePorts(dataDir: string, options: ApplianceOptions): Promise<RunningAppliance> {
  const [smtp, submission, smtps, imap, imaps] = await freePorts(5);
  const ports = { smtp: smtp as number, submission: submission as number, smtps: smtps as number, imap: imap as number, imaps: imaps as number };
  const configFile = join(options.configDir ?? dataDir, 'config.json');
  const config = {
    dataDir,
    hostname: HOSTNAME,
    listen: ['127.0.0.1'],
    log: { level: 'info' },
    ...options.config,
    ports: { ...ports, pop3: 0, pop3s: 0, http: 0, https: 0, ...((options.config?.ports as object) ?? {}) },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, LETTERBOX_CONFIG: configFile };
  delete env.LETTERBOX_DATA_DIR;
  const changes = new Changes();

  const running: RunningAppliance = {
    dataDir,
    configFile,
    ports,
    child: undefined as unknown as ChildProcess,
    logs: [],
    waitForLog: async (match, what, timeoutMs = 30_000) => {
      await changes.until(() => running.logs.some(match), () => `no log line ${what} within ${timeoutMs / 1000} s`, timeoutMs);
      return running.logs.find(match) as Record<string, unknown>;
    },
    cli: (args, stdin) =>
      new Promise((resolve) => {
        const proc = execFile(process.execPath, [CLI, ...args, '--config', configFile], { env, timeout: 30_000 }, (err, stdout, stderr) => {
          resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
        });
        // A command may exit before reading all of it (a refused 20 MB password): that is its answer.
        proc.stdin?.on('error', () => {});
        if (stdin !== undefined) proc.stdin?.end(stdin);
        else proc.stdin?.end();
      }),
    stop: async (signal = 'SIGTERM') => {
      const child = running.child;
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
    // The same ports (a test may hold on to them): one taken meanwhile, by an outgoing connection say,
    // is usually free again a moment later.
    restart: async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          running.child = await spawnServe(configFile, env, running.logs, changes);
          return;
        } catch (err) {
          if (attempt >= RESTART_TRIES || !isAddressInUse(err)) throw err;
          await new Promise((resolve) => setTimeout(resolve, RESTART_PAUSE_MS));
        }
      }
    },
    cleanup: async () => {
      await running.stop('SIGKILL');
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  logChanges.set(running, changes);
  running.child = await spawnServe(configFile, env, running.logs, changes);
  return running;
}

const RESTART_TRIES = 10;
const RESTART_PAUSE_MS = 300;

/**
 * Spawns `serve` and resolves once it logged that it is ready. A start that fails takes its log lines
 * back out of `logs`, and its error carries the process's stderr and last log line.
 */
async function spawnServe(configFile: string, env: NodeJS.ProcessEnv, logs: Record<string, unknown>[], changes: Changes): Promise<ChildProcess> {
  const first = logs.length;
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const failure = (what: string) => {
    const last = logs.length > first ? `; last log line: ${JSON.stringify(logs.at(-1))}` : '';
    logs.splice(first);
    return new Error(`${what}: ${stderr}${last}`);
  };
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let buffered = '';
    // A bound against a hang, far above a start on a loaded machine; a process that never got ready is
    // killed here, as no test holds it to clean it up.
    const timer = setTimeout(() => {
      settled = true;
      child.kill('SIGKILL');
      reject(failure('appliance did not start in 45 s'));
    }, 45_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          changes.changed();
          if (entry.msg === 'letterbox ready' && !settled) {
            settled = true;
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not a log line
        }
      }
    });
    // 'close', not 'exit': by then all it wrote has been read, why it stopped included.
    child.once('close', (code) => {
      if (settled) return;
      clearTimeout(timer);
      reject(failure(`appliance exited with ${code} before it was ready`));
    });
  });
  return child;
}

/** Log lines of the appliance whose message is `msg` (a string) or matches it (a RegExp). */
export function logged(app: RunningAppliance, msg: RegExp | string): Record<string, unknown>[] {
  return app.logs.filter((line) => (typeof msg === 'string' ? line.msg === msg : msg.test(String(line.msg))));
}

/** Waits until `count` lines of `logged(app, msg)` are there; returns them all. */
export async function waitForLog(app: RunningAppliance, msg: RegExp | string, count = 1, timeoutMs = 30_000): Promise<Record<string, unknown>[]> {
  const changes = logChanges.get(app) ?? new Changes();
  await changes.until(() => logged(app, msg).length >= count, () => `gave up waiting for ${count} log line(s) ${String(msg)}`, timeoutMs);
  return logged(app, msg);
}

/** Adds a domain and users (password `password-<local part>`) through the real CLI. */
export async function provision(app: RunningAppliance, domains: string[], users: string[]): Promise<void> {
  for (const domain of domains) {
    const r = await app.cli(['domain', 'add', domain]);
    if (r.code !== 0) throw new Error(`domain add ${domain}: ${r.stderr}`);
  }
  for (const user of users) {
    const r = await app.cli(['user', 'add', user, '--password-stdin'], `${passwordOf(user)}\n`);
    if (r.code !== 0) throw new Error(`user add ${user}: ${r.stderr}`);
  }
}

export function passwordOf(user: string): string {
  return `password-${user.split('@')[0]}`;
}

/**
 * Gives the appliances this process starts the environment of the systemd unit (the malloc settings
 * that keep resident memory down on a Pi), as on the box; for tests that measure memory.
 */
export function useUnitEnvironment(): void {
  const unit = readFileSync(fileURLToPath(new URL('../../systemd/letterbox.service', import.meta.url)), 'utf8');
  for (const [, name, value] of unit.matchAll(/^Environment=(\w+)=(.*)$/gm)) process.env[name!] = value;
}
