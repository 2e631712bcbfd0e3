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
import { COMMON_OPTIONS, OPTIONS } from './admin/commands.js';
import { closest, commandHelp, didYouMean, findCommand, unknownCommand, usage } from './admin/help.js';
import { chooseLogFormat, createLogger, type LogFormat } from './log.js';
import { doctorSetup, relayTester, startAppliance, storePath } from './main.js';
import { readCaOption } from './admin/relay.js';
import { parseQuotaSize } from './admin/quota-size.js';
import { Store } from './store/index.js';
import { envelopeSummary } from './mailbox/index.js';
import { MimeIndexer } from './mailbox/mime/index.js';
import type { DeliveryOutcome, StoreCheckReport } from './core/types.js';
import type { DoctorReport } from './admin/doctor/index.js';
import { OfflineQueue } from './queue/operations.js';
import { systemClock } from './queue/clock.js';

/** A mistake on the command line: exit code 2, the message, and where to read the help. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly helpFor?: string,
  ) {
    super(message);
  }
}

interface Parsed {
  positionals: string[];
  /** The command named by the first positionals (`user add`), once known. */
  command?: string;
  config?: string;
  dev: boolean;
  json: boolean;
  help: boolean;
  passwordStdin: boolean;
  all: boolean;
  logFormat?: string;
  relay: { host?: string; port?: string; user?: string; tls?: string; mode?: string; ca?: string };
}

/** Reads the options; each must be one of the command's (or common to all), else the nearest is named. */
function parse(argv: string[]): Parsed {
  const { values, positionals } = readOptions(argv);
  const found = findCommand(positionals);
  if (found && !values.help) {
    const allowed = [...found.spec.options, ...COMMON_OPTIONS];
    for (const name of Object.keys(values)) {
      if (!allowed.includes(name)) throw new UsageError(`option --${name} does not apply to '${found.spec.name}'${didYouMean(closestOption(`--${name}`, allowed))}`, found.spec.name);
    }
  }
  const { host, port, user, tls, mode, ca } = values;
  return {
    positionals,
    ...(found ? { command: found.spec.name } : {}),
    dev: values.dev ?? false,
    json: values.json ?? false,
    help: values.help ?? false,
    passwordStdin: values['password-stdin'] ?? false,
    all: values.all ?? false,
    relay: { host, port, user, tls, mode, ca },
    ...(values.config ? { config: values.config } : {}),
    ...(values['log-format'] ? { logFormat: values['log-format'] } : {}),
  };
}

function readOptions(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    throw optionError(err as Error & { code?: string }, argv);
  }
}

function closestOption(given: string, names: string[]): string | undefined {
  return closest(given, names.map((n) => `--${n}`));
}

/** node:util's complaint about an option, in this command's words, with the nearest known option. */
function optionError(err: Error & { code?: string }, argv: string[]): UsageError {
  const found = findCommand(argv.filter((a) => !a.startsWith('-')));
  const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'(-[^']*)'/.exec(err.message)?.[1] : undefined;
  if (!unknown) return new UsageError(err.message.replace(/\.$/, ''), found?.spec.name);
  const names = found ? [...found.spec.options, ...COMMON_OPTIONS] : Object.keys(OPTIONS);
  return new UsageError(`unknown option '${unknown}'${didYouMean(closestOption(unknown, names))}`, found?.spec.name);
}

/** Maps `noun verb args` to an admin operation and its parameters. */
async function toOperation(args: Parsed): Promise<{ op: string; params: AdminParams }> {
  const [noun, verb, ...rest] = args.positionals;
  const one = (what: string) => {
    if (rest.length !== 1 || !rest[0]) throw new UsageError(`${noun} ${verb} takes one ${what}`, args.command);
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
    case 'user quota': {
      if (rest.length !== 2 || !rest[0] || !rest[1]) throw new UsageError('user quota takes ADDRESS and SIZE (500M, 2G, or none)', 'user quota');
      const quota = parseQuotaSize(rest[1]);
      if (quota === null) throw new UsageError(`not a size: ${rest[1]} (bytes, or 500M, 2G, or none)`, 'user quota');
      return { op: 'user.quota', params: { address: rest[0], quota } };
    }
    case 'alias add':
      if (rest.length < 2) throw new UsageError('alias add takes ALIAS and at least one TARGET', 'alias add');
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
      if (rest.length > 0) throw new UsageError('relay set takes options only', 'relay set');
      const password = args.relay.user ? await readPassword(args.passwordStdin) : undefined;
      // The file is read here, where its path means something; the service gets its certificates.
      const ca = args.relay.ca === undefined ? undefined : await readCaOption(args.relay.ca);
      return { op: 'relay.set', params: { ...args.relay, ...(password ? { password } : {}), ca } };
    }
    case 'relay show':
      return { op: 'relay.show', params: {} };
    case 'relay test':
      return { op: 'relay.test', params: { address: one('ADDRESS') } };
    case 'status':
      return { op: 'status', params: {} };
    case 'doctor':
      return { op: 'doctor', params: {} };
    case 'check':
      return { op: 'store.check', params: {} };
    default:
      throw new UsageError(unknownCommand(args.positionals), helpTopic(args.positionals));
  }
}

async function runAdmin(config: Config, op: string, params: AdminParams): Promise<unknown> {
  const viaService = await callAdminSocket(adminSocketPath(config.dataDir), op, params);
  if (viaService) return viaService.result;
  await prepareDataDir(config.dataDir);
  const store = await Store.open(storePath(config.dataDir), { indexer: () => new MimeIndexer(), summarize: envelopeSummary });
  try {
    const log = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, process.stderr);
    const queue = new OfflineQueue({ queue: store, mail: store, directory: store.directory, log, hostname: config.hostname }, systemClock);
    const checkStore = () => store.check({ bodies: true });
    return await runOperation({ directory: store.directory, queue, settings: store, dataDir: config.dataDir, testRelay: relayTester(config, store, log), checkStore, doctor: doctorSetup(config) }, op, params);
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

async function serve(config: Config, logFormat: LogFormat): Promise<void> {
  keepYoungGenerationSmall();
  const log = createLogger(config.log.level, undefined, logFormat);
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
  if (args.help) return help(args);
  const config = loadConfig({ ...(args.config ? { file: args.config } : {}), dev: args.dev });
  if (args.positionals[0] === 'serve') {
    if (args.positionals.length > 1) throw new UsageError('serve takes no arguments', 'serve');
    const logFormat = chooseLogFormat(args.logFormat, args.dev, process.stdout);
    if (!logFormat) throw new UsageError(`--log-format must be json or pretty, not '${args.logFormat}'`, 'serve');
    await serve(config, logFormat);
    return 0;
  }
  const { op, params } = await toOperation(args);
  const result = await runAdmin(config, op, params);
  printResult(op, params, result, args.json);
  return failed(op, result) ? 1 : 0;
}

/** A command whose result says something is wrong exits 1, so a script notices. */
function failed(op: string, result: unknown): boolean {
  if (op === 'store.check') return !(result as StoreCheckReport).consistent;
  if (op === 'relay.test') return (result as DeliveryOutcome).status !== 'delivered';
  if (op === 'doctor') return (result as DoctorReport).problems > 0;
  return false;
}

/** `letterbox --help`, `letterbox COMMAND --help` and `letterbox NOUN --help`, on stdout. */
function help(args: Parsed): number {
  const noun = args.positionals[0];
  if (!noun) process.stdout.write(usage());
  else if (args.command) process.stdout.write(commandHelp(args.command));
  else if (commandHelp(noun)) process.stdout.write(commandHelp(noun));
  else throw new UsageError(unknownCommand(args.positionals), helpTopic(args.positionals));
  return 0;
}

/** `user` for a mistyped `user ad`: where the right spelling is listed. */
function helpTopic(positionals: string[]): string | undefined {
  const noun = positionals[0];
  return noun && commandHelp(noun) ? noun : undefined;
}

function reportUsageError(err: UsageError): void {
  process.stderr.write(`letterbox: ${err.message}\n`);
  if (err.message === 'no command given') process.stderr.write(usage());
  else process.stderr.write(`see: letterbox ${err.helpFor ? `${err.helpFor} ` : ''}--help\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      reportUsageError(err);
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
