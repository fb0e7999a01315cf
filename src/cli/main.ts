// The `dlc-gpu` command line: the only place that reads argv and chooses exit codes.
import { commands } from './commands/index.ts';
import { CliError } from './cli-error.ts';

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`dlc-gpu: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  const verbose = rest.includes('--verbose');
  try {
    return await command.run(rest.filter((a) => a !== '--verbose'));
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`dlc-gpu ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    const e = err as Error;
    process.stderr.write(`dlc-gpu ${name}: ${verbose ? e.stack ?? e.message : e.message}\n`);
    return 1;
  }
}

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(16)}${c.summary}`);
  return `Usage: dlc-gpu <command> [options]   (dlc-gpu <command> --help for details)\n\nCommands:\n${lines.join('\n')}\n`;
}
