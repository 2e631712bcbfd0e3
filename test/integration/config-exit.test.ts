// A bad configuration must stop `letterbox serve` with exit code 2 (systemd does not restart on 2) and a
// message naming the key. Runs the built CLI, so `npm run build` first (npm test does).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const TIMEOUT_MS = 20_000;

// Every listener off and data in the temp dir: should validation ever let one of these through, the
// server that starts binds nothing and writes nowhere it should not before the timeout kills it.
const allPortsOff = { smtp: 0, submission: 0, smtps: 0, imap: 0, imaps: 0, pop3: 0, pop3s: 0, http: 0, https: 0 };

const cases: Array<{ name: string; config: (dataDir: string) => unknown; key: string }> = [
  { name: 'unknown key', config: (dataDir) => ({ dataDir, ports: allPortsOff, surpriseSetting: true }), key: 'surpriseSetting' },
  { name: 'port as a string', config: (dataDir) => ({ dataDir, ports: { ...allPortsOff, smtp: 'x' } }), key: 'ports.smtp' },
  { name: 'port out of range', config: (dataDir) => ({ dataDir, ports: { ...allPortsOff, smtp: 70000 } }), key: 'ports.smtp' },
];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runServe(configFile: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.LETTERBOX_CONFIG;
    delete env.LETTERBOX_DATA_DIR;
    const child = spawn(process.execPath, [cli, 'serve', '--config', configFile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

t.test('serve exits with code 2 and names the key', { timeout: TIMEOUT_MS * cases.length + 5_000 }, async (t) => {
  if (!fs.existsSync(cli)) {
    t.fail(`${cli} is missing: run npm run build first`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'letterbox-config-exit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [i, c] of cases.entries()) {
    const file = path.join(dir, `config-${i}.json`);
    fs.writeFileSync(file, JSON.stringify(c.config(path.join(dir, 'data'))));
    const exit = await runServe(file);
    t.equal(exit.signal, null, `${c.name}: exited by itself within ${TIMEOUT_MS / 1000} s`);
    t.equal(exit.code, 2, `${c.name}: exit code 2`);
    t.match(exit.stderr, c.key, `${c.name}: stderr names ${c.key}`);
  }
});
