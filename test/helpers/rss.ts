// Process RSS right after a full garbage collection. V8 collects in a sawtooth of tens of MiB of RSS whose peaks
// land at a different sample each run, which drowns a leak bound of a few tens of MiB; measured after a
// collection, what is left is what the process keeps.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

export function rssAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().rss;
}
