// Reading a new password: from standard input (`--password-stdin`, for scripts) or asked twice on
// the terminal with echo off.
import { createInterface } from 'node:readline';
import { LetterboxError } from '../core/errors.js';

export async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
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
