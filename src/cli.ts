import { COMMANDS } from './cli/commands.js';
import type { Command } from './cli/command-line.js';
import { EXIT_OK, EXIT_USAGE, UsageError, commandHelp, parseCommandLine, synopsis, usageList } from './cli/command-line.js';

/**
 * `payrail <command>`: a thin composition root. The commands are in cli/commands.ts, how a command line
 * is parsed and explained (exit codes included) in cli/command-line.ts; this finds the command and runs it.
 */

function findCommand(argv: readonly string[]): Command | undefined {
  return COMMANDS.find((spec) => spec.words.every((word, i) => argv[i] === word));
}

async function main(argv: readonly string[]): Promise<number | null> {
  const [first, second] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(usageList(COMMANDS));
    return EXIT_OK;
  }
  const spec = findCommand(argv);
  if (!spec) {
    // A group is the first word (`events`), or the first two when commands have three (`radar rules`).
    const depth = COMMANDS.some((candidate) => candidate.words.length > 2 && candidate.words[0] === first && candidate.words[1] === second) ? 2 : 1;
    const prefix = argv.slice(0, depth).join(' ');
    const group = COMMANDS.filter((candidate) => candidate.words.length > depth && candidate.words.slice(0, depth).join(' ') === prefix);
    if (group.length === 0) {
      process.stderr.write(`payrail: unknown command '${first}'\n\n${usageList(COMMANDS)}`);
      return EXIT_USAGE;
    }
    const next = argv[depth];
    if (next === '--help' || next === '-h') {
      process.stdout.write(usageList(group, prefix));
      return EXIT_OK;
    }
    const problem = next === undefined ? 'missing command' : `unknown command '${next}'`;
    process.stderr.write(`payrail ${prefix}: ${problem}\n\n${usageList(group, prefix)}`);
    return EXIT_USAGE;
  }
  const name = spec.words.join(' ');
  try {
    const input = parseCommandLine(spec, argv.slice(spec.words.length));
    if (input.help) {
      process.stdout.write(commandHelp(spec));
      return EXIT_OK;
    }
    return await spec.run(input.values, input.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`payrail ${name}: ${error.message}\nUsage: payrail ${synopsis(spec)}\nRun 'payrail ${name} --help' for details.\n`);
    return EXIT_USAGE;
  }
}

const code = await main(process.argv.slice(2));
if (code !== null) process.exit(code);
