#!/usr/bin/env node
// Which code runs: in a git clone (src/ is there) the TypeScript sources, through tsx, so a clone works after
// `npm ci` with no build step, an edit to src/ takes effect at once, and a dist/ left over from an earlier
// build can never silently shadow edited sources. The installed package has dist/ and no src/ (see `files`
// in package.json) and runs the built JavaScript with no loader. A clone whose tsx cannot be found falls
// back to its dist/ when one was built.
import { existsSync } from 'node:fs';

const fromSource = existsSync(new URL('../src/cli/main.ts', import.meta.url));
const built = new URL('../dist/cli/main.js', import.meta.url);
let tsx = null;
if (fromSource) {
  try {
    tsx = await import('tsx/esm/api');
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(built)) throw err;
  }
}
let main;
if (tsx) {
  tsx.register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  ({ main } = await import(built.href));
}
// Exit explicitly: Dawn keeps the event loop alive while a device exists.
process.exit(await main(process.argv.slice(2)));
