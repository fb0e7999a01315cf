// filterNativeStderr: what native code writes to descriptor 2 during the call is filtered line by line,
// and stderr works as before afterwards. Run in a child process whose stderr is a file (as with a shell's
// 2>file; a terminal and a shell pipe reopen the same way), or a socket (Node's own pipes), which cannot
// be reopened by path: there nothing is filtered and nothing is lost.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWithFileStderr } from './helpers/stderr.ts';
import { REPO_ROOT } from './project/openfield.ts';

const script = `
import { writeSync } from 'node:fs';
import { DAWN_LIMIT_NOTICE, filterNativeStderr } from ${JSON.stringify(join(REPO_ROOT, 'src/gpu/dawn.ts'))};
process.stderr.write('before\\n');
const v = filterNativeStderr(() => {
  // What Dawn's C stdio does: straight to descriptor 2, past Node's streams.
  writeSync(2, 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\\n');
  writeSync(2, 'Error: a driver problem the user must see\\n');
  writeSync(2, 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 500000 to 16 to fit dynamic offset allocation limit.\\n');
  return 42;
}, DAWN_LIMIT_NOTICE);
process.stderr.write('after ' + v + '\\n');
console.error('console.error still works');
`;

const run = (code: string) => runWithFileStderr(['--import', 'tsx', '--input-type=module', '-e', code]);

describe('filterNativeStderr', () => {
  it('drops the matched lines, keeps the others in order, and leaves stderr working', () => {
    const r = run(script);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('before\nError: a driver problem the user must see\nafter 42\nconsole.error still works\n');
  });

  it('puts stderr back when the call throws, and the error reaches the caller', () => {
    const r = run(`
import { writeSync } from 'node:fs';
import { filterNativeStderr } from ${JSON.stringify(join(REPO_ROOT, 'src/gpu/dawn.ts'))};
try {
  filterNativeStderr(() => { writeSync(2, 'kept line\\n'); throw new Error('boom'); }, /^never$/);
} catch (e) { process.stderr.write('caught ' + e.message + '\\n'); }
`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('kept line\ncaught boom\n');
  });

  it('with a socket for stderr (a Node parent), runs the call and loses nothing', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^before\nWarning: maxDynamicUniform.*\nError: a driver problem the user must see\nWarning: maxDynamicStorage.*\nafter 42\nconsole.error still works\n$/);
  });
});
