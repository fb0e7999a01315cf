// Config problems carry where they are (file, key path, line, column) so a person can go straight to them.

export type KeyPath = readonly (string | number)[];

export interface ConfigIssue {
  file: string;
  path: KeyPath;
  /** 1-based; absent when the problem has no place in the file (e.g. the file is empty). */
  line?: number;
  column?: number;
  message: string;
}

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out || '(top level)';
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line ? `${issue.file}:${issue.line}:${issue.column ?? 1}` : issue.file;
  return `${where}: ${formatPath(issue.path)}: ${issue.message}`;
}

/** Every problem found in one file, reported together. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      issues.length === 1
        ? formatIssue(issues[0]!)
        : `${issues.length} problems:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}
