// Where the shared openfield project lives; tests that need it skip only when ../shared is absent.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const OPENFIELD = resolve(REPO_ROOT, '../shared/datasets/openfield-Pranav-2018-10-30');
export const HAS_OPENFIELD = existsSync(resolve(OPENFIELD, 'config.yaml'));

// CI always has ../shared beside the clone: there a missing project is a failure, never a skip.
if (!HAS_OPENFIELD && process.env.CI) throw new Error(`CI: the openfield project is missing at ${OPENFIELD}`);
