// Runs the real appliance (`node dist/cli.js serve`) as a child process on free loopback ports in a
// temporary data directory, and drives the `letterbox` command against it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './ports.js';

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
  ports: { smtp: number; submission: number; smtps: number };
  child: ChildProcess;
  /** Every log line the process printed so far, parsed. */
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

export async function startAppliance(options: ApplianceOptions = {}): Promise<RunningAppliance> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'letterbox-test-'));
  const [smtp, submission, smtps] = await freePorts(3);
  const ports = { smtp: smtp as number, submission: submission as number, smtps: smtps as number };
  const configFile = join(options.configDir ?? dataDir, 'config.json');
  const config = {
    dataDir,
    hostname: 'mx.letterbox.test',
    listen: ['127.0.0.1'],
    log: { level: 'info' },
    ...options.config,
    ports: { smtp: ports.smtp, submission: ports.submission, smtps: ports.smtps, imap: 0, imaps: 0, pop3: 0, pop3s: 0, http: 0, https: 0, ...((options.config?.ports as object) ?? {}) },
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, LETTERBOX_CONFIG: configFile };
  delete env.LETTERBOX_DATA_DIR;
  const logged = new Set<(entry: Record<string, unknown>) => void>();

  const running: RunningAppliance = {
    dataDir,
    configFile,
    ports,
    child: undefined as unknown as ChildProcess,
    logs: [],
    waitForLog: (match, what, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const found = running.logs.find(match);
        if (found) return resolve(found);
        const listener = (entry: Record<string, unknown>) => {
          if (!match(entry)) return;
          clearTimeout(timer);
          logged.delete(listener);
          resolve(entry);
        };
        const timer = setTimeout(() => {
          logged.delete(listener);
          reject(new Error(`no log line ${what} within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        logged.add(listener);
      }),
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
    restart: async () => {
      running.child = await spawnServe(configFile, env, running.logs, logged);
    },
    cleanup: async () => {
      await running.stop('SIGKILL');
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    running.child = await spawnServe(configFile, env, running.logs, logged);
  } catch (err) {
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return running;
}

async function spawnServe(configFile: string, env: NodeJS.ProcessEnv, logs: Record<string, unknown>[], logged: Set<(entry: Record<string, unknown>) => void>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    // A bound against a hang, far above a start on a loaded machine; a process that never got ready is
    // killed here, as no test holds it to clean it up.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`appliance did not start in 45 s: ${stderr}`));
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
          for (const listener of logged) listener(entry);
          if (entry.msg === 'letterbox ready') {
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`appliance exited with ${code} before it was ready: ${stderr}`));
    });
  });
  return child;
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
