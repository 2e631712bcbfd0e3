// `letterbox --help`, `letterbox COMMAND --help`, and the "did you mean" of a mistyped command or option.
import { COMMANDS, COMMON_OPTIONS, OPTIONS, type CommandSpec, type OptionSpec } from './commands.js';
import { columns } from './format/style.js';

/** Edits (insert, delete, change, swap two neighbours) from one word to the other. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const above = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The known word nearest `word`, when near enough to be a slip (a third of its letters at most). */
export function closest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = candidate.startsWith(word) && word.length >= 2 ? 0.5 : editDistance(word, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(1, Math.floor(Math.max(word.length, 3) / 3)) ? best : undefined;
}

export function didYouMean(suggestion: string | undefined): string {
  return suggestion ? `; did you mean '${suggestion}'?` : '';
}

function synopsis(spec: CommandSpec): string {
  return [spec.name, spec.args].filter(Boolean).join(' ');
}

function optionRows(names: string[]): string[][] {
  return names.map((name) => {
    const option: OptionSpec | undefined = (OPTIONS as Record<string, OptionSpec>)[name];
    const flag = `${option?.short ? `-${option.short}, ` : ''}--${name}${option?.value ? ` ${option.value}` : ''}`;
    return [flag, option?.help ?? ''];
  });
}

export function usage(): string {
  const commands = columns(COMMANDS.map((c) => [synopsis(c), c.summary]), '  ');
  return [
    'usage: letterbox COMMAND [options]',
    '',
    'commands:',
    ...commands,
    '',
    'options for every command:',
    ...columns(optionRows(COMMON_OPTIONS), '  '),
    '',
    'letterbox COMMAND --help lists the options of a command. Output is for people; --json is for scripts.',
    'Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.',
    '',
  ].join('\n');
}

/** The help of one command, or of every command of a noun (`letterbox user --help`). */
export function commandHelp(name: string): string {
  const specs = COMMANDS.filter((c) => c.name === name || c.name.startsWith(`${name} `));
  const lines: string[] = [];
  for (const spec of specs) {
    lines.push(`usage: letterbox ${synopsis(spec)} [options]`, `  ${spec.summary}`, '', 'options:', ...columns(optionRows([...spec.options, ...COMMON_OPTIONS]), '  '), '');
  }
  return lines.join('\n');
}

/** The nouns and one-word commands: what may come first. */
export function commandWords(): string[] {
  return [...new Set(COMMANDS.map((c) => c.name.split(' ')[0] as string))];
}

/** The spec the positionals name, and how many of them its name took; undefined when none does. */
export function findCommand(positionals: string[]): { spec: CommandSpec; words: number } | undefined {
  const two = positionals.slice(0, 2).join(' ');
  const byTwo = COMMANDS.find((c) => c.name === two && c.name.includes(' '));
  if (byTwo) return { spec: byTwo, words: 2 };
  const byOne = COMMANDS.find((c) => c.name === positionals[0] && !c.name.includes(' '));
  return byOne ? { spec: byOne, words: 1 } : undefined;
}

/** Why the positionals name no command, with the nearest one. */
export function unknownCommand(positionals: string[]): string {
  const [noun, verb] = positionals;
  if (!noun) return 'no command given';
  if (COMMANDS.some((c) => c.name === noun)) return `'${noun}' takes no arguments`;
  const verbs = COMMANDS.filter((c) => c.name.startsWith(`${noun} `)).map((c) => c.name);
  if (verbs.length === 0) return `unknown command '${noun}'${didYouMean(closest(noun, commandWords()))}`;
  if (!verb) return `'${noun}' needs one of: ${verbs.map((v) => v.split(' ')[1]).join(', ')}`;
  return `unknown command '${noun} ${verb}'${didYouMean(closest(`${noun} ${verb}`, verbs))}`;
}
