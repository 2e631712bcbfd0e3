// System tools some tests drive (swaks, Postfix, dnsmasq ...). Missing one skips the test with the
// Debian package to install, unless LETTERBOX_REQUIRE_PEERS=1 (CI), where it fails instead.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function which(command: string): string | null {
  if (command.startsWith('/')) return existsSync(command) ? command : null;
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** A tap Test, or anything with its `fail` and `skip` (tap's types list only skip's subtest forms). */
export interface SkipOrFail {
  fail(message: string): unknown;
  skip: (...args: never[]) => unknown;
}

/**
 * What the test needs is not there (a tool, root, FUSE ...): skips the test, naming it, or fails it
 * under LETTERBOX_REQUIRE_PEERS=1, as in CI.
 */
export function missingPeer(t: SkipOrFail, message: string): void {
  if (process.env.LETTERBOX_REQUIRE_PEERS === '1') t.fail(message);
  // `t.skip(name)` without a body records a skipped subtest named after what is missing.
  else (t.skip as unknown as (name: string) => unknown)(message);
}

/** The tool's path, or null after skipping (or failing, under LETTERBOX_REQUIRE_PEERS=1) the test. */
export function needPeer(t: SkipOrFail, command: string, debianPackage: string): string | null {
  const path = which(command);
  if (path) return path;
  missingPeer(t, `${command} is not installed (apt-get install ${debianPackage})`);
  return null;
}
