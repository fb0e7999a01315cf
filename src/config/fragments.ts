// Reads the default YAML fragments shipped in configs/ (the only file access the defaults need).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const CONFIGS_DIR = fileURLToPath(new URL('../../configs/', import.meta.url));

export function readFragment(relativePath: string): Record<string, unknown> {
  const text = readFileSync(`${CONFIGS_DIR}${relativePath}`, 'utf8');
  return (parse(text, { version: '1.2' }) ?? {}) as Record<string, unknown>;
}
