// Reading a new password: from standard input (`--password-stdin`, for scripts) or asked twice on
// the terminal with echo off. Its rules are checked where it is used (core/passwords.ts for mailboxes).
import { createInterface } from 'node:readline';
import { LetterboxError } from '../core/errors.js';
import { MAX_PASSWORD_BYTES } from '../core/passwords.js';

export async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    let input = '';
    for await (const chunk of process.stdin) {
      input += chunk;
      // Refused here rather than read whole: a 20 MB "password" should cost nothing.
      if (input.length > MAX_PASSWORD_BYTES + 2) throw new LetterboxError('INVALID', `a password can have at most ${MAX_PASSWORD_BYTES} bytes`);
    }
    const password = input.replace(/\r?\n$/, '');
    if (!password) throw new LetterboxError('INVALID', 'no password on standard input');
    return password;
  }
  if (!process.stdin.isTTY) throw new LetterboxError('INVALID', 'standard input is not a terminal; use --password-stdin');
  const first = await ask('Password: ');
  const second = await ask('Again: ');
  if (first !== second) throw new LetterboxError('INVALID', 'the passwords differ');
  return first;
}

function ask(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    // Echo nothing of what is typed: readline writes through _writeToOutput.
    const muted = rl as unknown as { _writeToOutput: (s: string) => void };
    process.stdout.write(prompt);
    muted._writeToOutput = () => {};
    rl.question('', (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolve(answer);
    });
  });
}
