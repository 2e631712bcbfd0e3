#!/usr/bin/env node
// The `letterbox` command. Every command but `serve` runs an admin operation: through the admin
// socket when `serve` is running (LevelDB admits one process), else on the store opened here.
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from 'pino';
import { ConfigError, isLetterboxError } from './core/errors.js';
import { loadConfig, prepareDataDir, type Config } from './config/index.js';
import { runOperation, type AdminParams } from './admin/api.js';
import { adminSocketPath, callAdminSocket } from './admin/socket.js';
import { readPassword } from './admin/password-prompt.js';
import { printResult } from './admin/output.js';
import { createLogger } from './log.js';
import { relayTester, startAppliance, storePath } from './main.js';
import { Store } from './store/index.js';
import type { StoreCheckReport } from './core/types.js';
import { OfflineQueue } from './queue/operations.js';
import { systemClock } from './queue/clock.js';

const USAGE = `usage: letterbox <command> [--config FILE] [--dev]

  serve                               run every service in the foreground
  domain add|del DOMAIN | domain list [--json]
  user add ADDRESS [--password-stdin] | user passwd ADDRESS [--password-stdin]
  user del ADDRESS | user list [--json]
  alias add ALIAS TARGET... | alias del ALIAS | alias list [--json]
  queue list [--json] | queue retry ID|--all | queue delete ID | queue bounce ID
  relay set --host H --port P [--user U --password-stdin] [--tls starttls|implicit] [--mode fallback|always|never]
  relay show [--json] | relay test ADDRESS
  status [--json]
  check [--json]                      verify every stored message and repair the store (exit 1 when it needed repair)
`;

class UsageError extends Error {}

interface Parsed {
  positionals: string[];
  config?: string;
  dev: boolean;
  json: boolean;
  passwordStdin: boolean;
  all: boolean;
  relay: { host?: string; port?: string; user?: string; tls?: string; mode?: string };
}

function parse(argv: string[]): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        dev: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'password-stdin': { type: 'boolean', default: false },
        all: { type: 'boolean', default: false },
        host: { type: 'string' },
        port: { type: 'string' },
        user: { type: 'string' },
        tls: { type: 'string' },
        mode: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) throw new UsageError('');
    const { host, port, user, tls, mode } = values;
    return {
      positionals,
      dev: values.dev ?? false,
      json: values.json ?? false,
      passwordStdin: values['password-stdin'] ?? false,
      all: values.all ?? false,
      relay: { host, port, user, tls, mode },
      ...(values.config ? { config: values.config } : {}),
    };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}

/** Maps `noun verb args` to an admin operation and its parameters. */
async function toOperation(args: Parsed): Promise<{ op: string; params: AdminParams }> {
  const [noun, verb, ...rest] = args.positionals;
  const one = (what: string) => {
    if (rest.length !== 1 || !rest[0]) throw new UsageError(`${noun} ${verb} takes one ${what}`);
    return rest[0];
  };
  switch (`${noun} ${verb ?? ''}`.trim()) {
    case 'domain add':
    case 'domain del':
      return { op: `domain.${verb}`, params: { domain: one('DOMAIN') } };
    case 'domain list':
    case 'user list':
    case 'alias list':
    case 'queue list':
      return { op: `${noun}.list`, params: {} };
    case 'user add':
    case 'user passwd':
      return { op: `user.${verb}`, params: { address: one('ADDRESS'), password: await readPassword(args.passwordStdin) } };
    case 'user del':
      return { op: 'user.del', params: { address: one('ADDRESS') } };
    case 'alias add':
      if (rest.length < 2) throw new UsageError('alias add takes ALIAS and at least one TARGET');
      return { op: 'alias.add', params: { alias: rest[0], targets: rest.slice(1) } };
    case 'alias del':
      return { op: 'alias.del', params: { alias: one('ALIAS') } };
    case 'queue retry':
      if (args.all && rest.length === 0) return { op: 'queue.retry', params: { all: true } };
      return { op: 'queue.retry', params: { id: one('ID (or --all)') } };
    case 'queue delete':
    case 'queue bounce':
      return { op: `queue.${verb}`, params: { id: one('ID') } };
    case 'relay set': {
      if (rest.length > 0) throw new UsageError('relay set takes options only');
      const password = args.relay.user ? await readPassword(args.passwordStdin) : undefined;
      return { op: 'relay.set', params: { ...args.relay, ...(password ? { password } : {}) } };
    }
    case 'relay show':
      return { op: 'relay.show', params: {} };
    case 'relay test':
      return { op: 'relay.test', params: { address: one('ADDRESS') } };
    case 'status':
      return { op: 'status', params: {} };
    case 'check':
      return { op: 'store.check', params: {} };
    default:
      throw new UsageError(noun ? `unknown command: ${args.positionals.join(' ')}` : 'no command given');
  }
}

async function runAdmin(config: Config, op: string, params: AdminParams): Promise<unknown> {
  const viaService = await callAdminSocket(adminSocketPath(config.dataDir), op, params);
  if (viaService) return viaService.result;
  await prepareDataDir(config.dataDir);
  const store = await Store.open(storePath(config.dataDir));
  try {
    const log = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, process.stderr);
    const queue = new OfflineQueue({ queue: store, mail: store, directory: store.directory, log, hostname: config.hostname }, systemClock);
    const checkStore = () => store.check({ bodies: true });
    return await runOperation({ directory: store.directory, queue, settings: store, dataDir: config.dataDir, testRelay: relayTester(config, store, log), checkStore }, op, params);
  } finally {
    await store.close();
  }
}

/**
 * Keeps V8's young generation at its first size (two 1 MB semi-spaces) instead of letting it grow to two
 * of 16 MB under a burst of connections, 30 MB that stay resident afterwards (issue 6, measured by
 * scripts/bench/memory.mjs). Set at run time because V8 raises a factor below 2 given on the command line
 * while it sets the heap up; read at each growth, so setting it now holds from here on.
 */
function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * glibc keeps each libuv worker thread's 16 MiB scrypt block (one password check) unless its mmap
 * threshold is fixed, which only the environment can do, before the process starts: systemd's unit does.
 */
function noteMallocSetting(log: Logger): void {
  if (process.platform !== 'linux' || process.env.MALLOC_MMAP_THRESHOLD_ || process.env.GLIBC_TUNABLES?.includes('mmap_threshold')) return;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (header?.glibcVersionRuntime) log.info('MALLOC_MMAP_THRESHOLD_ is not set: each password check may leave 16 MiB resident, up to 60-90 MB (systemd/letterbox.service sets it)');
}

async function serve(config: Config): Promise<void> {
  keepYoungGenerationSmall();
  const log = createLogger(config.log.level);
  noteMallocSetting(log);
  const appliance = await startAppliance(config, log).catch((err: unknown) => {
    log.fatal({ err }, 'could not start');
    throw err;
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void appliance.stop().then(() => {
      log.info('stopped');
      log.flush();
      process.exitCode = 0;
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function main(argv: string[]): Promise<number> {
  // Everything this process creates (store files, certificates, the admin socket) is its owner's alone.
  process.umask(0o077);
  const args = parse(argv);
  const config = loadConfig({ ...(args.config ? { file: args.config } : {}), dev: args.dev });
  if (args.positionals[0] === 'serve') {
    if (args.positionals.length > 1) throw new UsageError('serve takes no arguments');
    await serve(config);
    return 0;
  }
  const { op, params } = await toOperation(args);
  const result = await runAdmin(config, op, params);
  printResult(op, result, args.json);
  return op === 'store.check' && !(result as StoreCheckReport).consistent ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      if (err.message) process.stderr.write(`letterbox: ${err.message}\n`);
      process.stderr.write(USAGE);
      process.exitCode = 2;
    } else if (err instanceof ConfigError) {
      process.stderr.write(`letterbox: configuration: ${err.message}\n`);
      process.exitCode = 2;
    } else if (isLetterboxError(err)) {
      process.stderr.write(`letterbox: ${err.message}\n`);
      process.exitCode = err.code === 'INVALID' ? 2 : 1;
    } else {
      process.stderr.write(`letterbox: ${(err as Error).message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
