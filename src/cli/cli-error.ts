/** An error whose message is for the user as it stands (no stack trace) with the exit code to use: 1 failure, 2 usage. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}
