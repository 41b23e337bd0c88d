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
    const group = COMMANDS.filter((candidate) => candidate.words.length > 1 && candidate.words[0] === first);
    if (group.length === 0) {
      process.stderr.write(`payrail: unknown command '${first}'\n\n${usageList(COMMANDS)}`);
      return EXIT_USAGE;
    }
    if (second === '--help' || second === '-h') {
      process.stdout.write(usageList(group, first));
      return EXIT_OK;
    }
    const problem = second === undefined ? 'missing command' : `unknown command '${second}'`;
    process.stderr.write(`payrail ${first}: ${problem}\n\n${usageList(group, first)}`);
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
