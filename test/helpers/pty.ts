// Runs a command with a pseudo-terminal as its stdin, stdout and stderr (what a person at a terminal
// gives it), through Python's pty module: Node has none. The command runs until `until` appears in its
// output (or `timeoutMs` passes), then gets SIGTERM; resolves with all it printed and its exit code.
import { execFile } from 'node:child_process';

const RUNNER = String.raw`
import os, pty, select, signal, subprocess, sys, time
until, timeout = sys.argv[1].encode(), float(sys.argv[2])
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[3:], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
out, deadline, signalled = b'', time.time() + timeout, False
while True:
    if not signalled and (until in out or time.time() > deadline):
        child.send_signal(signal.SIGTERM)
        signalled = True
    ready, _, _ = select.select([master], [], [], 0.2)
    if not ready:
        if child.poll() is not None and signalled:
            break
        continue
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.buffer.write(out)
sys.exit(child.wait())
`;

export function runOnTerminal(command: string[], until: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<{ output: string; code: number }> {
  return new Promise((resolve) => {
    execFile('python3', ['-c', RUNNER, until, String(timeoutMs / 1000), ...command], { env, timeout: timeoutMs + 20_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      resolve({ output: stdout.replace(/\r\n/g, '\n'), code: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}
