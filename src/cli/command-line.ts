import { parseArgs } from 'node:util';

/**
 * How a `payrail` command is declared, parsed and explained: each command names its words, positional
 * arguments and options once, and the parser, the usage lists and `--help` are all read from that.
 * Exit codes: 0 done, 1 the command ran and found a problem, 2 the command line is wrong.
 */

export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;
/** Where a command's summary starts in the usage list. */
const USAGE_SUMMARY_COLUMN = 30;

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The value's name in help, for string options (`--limit N`). */
  value?: string;
  description: string;
}

type OptionValue<T extends OptionSpec['type']> = T extends 'boolean' ? boolean : string;
type OptionValues<O extends Record<string, OptionSpec>> = { [K in keyof O]?: OptionValue<O[K]['type']> };

export interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  /** The words after `payrail`: `['events', 'resend']`. */
  words: readonly string[];
  /** Required positional arguments, by their names in help. */
  args: readonly string[];
  options: O;
  summary: string;
  /** Resolves to the exit code, or to null when the process keeps running (the server). */
  run(values: OptionValues<O>, args: readonly string[]): Promise<number | null>;
}

/** A command line that cannot run: printed plainly with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Keeps each command's option types attached to its `run`. */
export function command<const O extends Record<string, OptionSpec>>(spec: Command<O>): Command {
  return spec;
}

export function synopsis(spec: Command): string {
  const options = Object.entries(spec.options).map(([name, option]) => (option.value ? `[--${name} ${option.value}]` : `[--${name}]`));
  return [...spec.words, ...spec.args, ...options].join(' ');
}

/** The usage of `commands`; `group` (`events`) when they are one group's commands. */
export function usageList(commands: readonly Command[], group?: string): string {
  const lines = commands.map((spec) => {
    const left = `  ${synopsis(spec)}`;
    return left.length < USAGE_SUMMARY_COLUMN
      ? `${left.padEnd(USAGE_SUMMARY_COLUMN)}${spec.summary}`
      : `${left}\n${' '.repeat(USAGE_SUMMARY_COLUMN)}${spec.summary}`;
  });
  return `Usage: payrail ${group ? `${group} ` : ''}<command> [--help]\n\n${lines.join('\n')}\n`;
}

export function commandHelp(spec: Command): string {
  const options = [
    ...Object.entries(spec.options).map(([name, option]) => [`--${name}${option.value ? ` ${option.value}` : ''}`, option.description]),
    ['-h, --help', 'show this help'],
  ];
  const width = Math.max(...options.map(([flag = '']) => flag.length));
  const rows = options.map(([flag = '', description]) => `  ${flag.padEnd(width)}  ${description}`);
  return `Usage: payrail ${synopsis(spec)}\n\n${spec.summary}\n\nOptions:\n${rows.join('\n')}\n`;
}

/** Node's parseArgs messages end in advice for its own API; the first sentence is what the operator needs. */
function firstSentence(message: string): string {
  return message.split('. ')[0] ?? message;
}

/** The arguments after the command's words, checked against its spec; a wrong command line is a UsageError. */
export function parseCommandLine(
  spec: Command,
  argv: readonly string[],
): { help: boolean; values: Record<string, string | boolean | undefined>; args: string[] } {
  const options = Object.fromEntries(Object.entries(spec.options).map(([name, option]) => [name, { type: option.type }]));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError(firstSentence((error as Error).message));
    throw error;
  }
  const { help = false, ...values } = parsed.values;
  if (help) return { help: true, values, args: parsed.positionals };
  const missing = spec.args.slice(parsed.positionals.length);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(' ')}`);
  const extra = parsed.positionals.slice(spec.args.length);
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  return { help: false, values, args: parsed.positionals };
}
