#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so a clone works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
// Exit explicitly: Dawn keeps the event loop alive while a device exists.
process.exit(await main(process.argv.slice(2)));
