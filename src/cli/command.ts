export interface Command {
  /** One line for `dlc-gpu --help`. */
  summary: string;
  /** Full text for `dlc-gpu <command> --help`. */
  usage: string;
  /** Returns the process exit code: 0 success, 1 failure, 2 bad usage. */
  run(args: string[]): Promise<number>;
}
