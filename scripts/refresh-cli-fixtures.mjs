// Rewrites test/fixtures/cli/*.txt from what the commands print now (test/integration/cli-output.test.ts
// in refresh mode). Run after a deliberate change to the output, then read the diff before committing it.
import { spawnSync } from 'node:child_process';

const run = spawnSync('npx', ['tap', '--disable-coverage', 'test/integration/cli-output.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, LETTERBOX_REFRESH_CLI_FIXTURES: '1' },
});
process.exit(run.status ?? 1);
