// Every `letterbox` command and option with its one line of help: what `--help` prints and what the
// command line is checked against (a mistyped name gets the closest known one suggested).

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** What the value is, for the help (`FILE`). */
  value?: string;
  short?: string;
  help: string;
}

export const OPTIONS = {
  config: { type: 'string', value: 'FILE', help: 'the configuration file (else $LETTERBOX_CONFIG, else /etc/letterbox/config.json)' },
  dev: { type: 'boolean', help: 'start from the development defaults: data in ./data, ports 2525, 2587, ...' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  json: { type: 'boolean', help: 'print the result as JSON, a stable form for scripts' },
  'log-format': { type: 'string', value: 'json|pretty', help: 'log lines as JSON (default) or readable (default with --dev on a terminal)' },
  'password-stdin': { type: 'boolean', help: 'read the password from the first line of standard input instead of asking twice' },
  all: { type: 'boolean', help: 'every entry in the queue' },
  host: { type: 'string', value: 'HOST', help: 'the smarthost\'s name or address' },
  port: { type: 'string', value: 'PORT', help: 'its port (default 587; 465 means TLS from the start)' },
  user: { type: 'string', value: 'USER', help: 'the login at the smarthost (the password comes from --password-stdin or the terminal)' },
  tls: { type: 'string', value: 'starttls|implicit', help: 'STARTTLS (default) or TLS from the first byte' },
  mode: { type: 'string', value: 'fallback|always|never', help: 'when to use it: when direct delivery fails (default), always, or never' },
  ca: { type: 'string', value: 'FILE|none', help: 'also trust these PEM certificates for the smarthost (a private CA); none removes them' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** Accepted by every command. */
export const COMMON_OPTIONS = ['config', 'dev', 'help'];

export interface CommandSpec {
  /** One or two words: `status`, `user add`. */
  name: string;
  /** Positional arguments as the help shows them. */
  args?: string;
  summary: string;
  options: string[];
}

export const COMMANDS: CommandSpec[] = [
  { name: 'serve', summary: 'run every service in the foreground until SIGTERM or SIGINT', options: ['log-format'] },
  { name: 'status', summary: 'services, queue, last delivery, bounces today, smarthost, disk', options: ['json'] },
  { name: 'domain add', args: 'DOMAIN', summary: 'receive mail for a domain', options: ['json'] },
  { name: 'domain del', args: 'DOMAIN', summary: 'stop receiving mail for a domain', options: ['json'] },
  { name: 'domain list', summary: 'the domains this box receives mail for', options: ['json'] },
  { name: 'user add', args: 'ADDRESS', summary: 'add a mailbox (asks for its password twice)', options: ['password-stdin', 'json'] },
  { name: 'user passwd', args: 'ADDRESS', summary: 'change a mailbox\'s password', options: ['password-stdin', 'json'] },
  { name: 'user quota', args: 'ADDRESS SIZE', summary: 'limit the space a mailbox\'s mail may take (500M, 2G, or none)', options: ['json'] },
  { name: 'user del', args: 'ADDRESS', summary: 'delete a mailbox and its mail', options: ['json'] },
  { name: 'user list', summary: 'every mailbox with its message count, space used and quota', options: ['json'] },
  { name: 'alias add', args: 'ALIAS TARGET...', summary: 'deliver mail for ALIAS (or @domain, a catch-all) to the targets', options: ['json'] },
  { name: 'alias del', args: 'ALIAS', summary: 'delete an alias', options: ['json'] },
  { name: 'alias list', summary: 'every alias and where it goes', options: ['json'] },
  { name: 'relay set', summary: 'set the upstream smarthost', options: ['host', 'port', 'user', 'password-stdin', 'tls', 'mode', 'ca', 'json'] },
  { name: 'relay show', summary: 'the smarthost settings (never the password)', options: ['json'] },
  { name: 'relay test', args: 'ADDRESS', summary: 'send a test message through the smarthost', options: ['json'] },
  { name: 'queue list', summary: 'queued messages, each recipient\'s state, the next attempt and the last error', options: ['json'] },
  { name: 'queue retry', args: 'ID', summary: 'try a queued message now (or every one, with --all)', options: ['all', 'json'] },
  { name: 'queue delete', args: 'ID', summary: 'drop a queued message without telling anyone', options: ['json'] },
  { name: 'queue bounce', args: 'ID', summary: 'give up on a queued message; its sender gets a failure notice', options: ['json'] },
  { name: 'doctor', summary: 'check the setup around the box: DNS, port 25 or the smarthost, certificate, clock, disk, listeners (exit 1 on a problem)', options: ['json'] },
  { name: 'check', summary: 'verify every stored message and repair the store (exit 1 when it needed repair)', options: ['json'] },
];
