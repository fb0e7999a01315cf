// Worker-thread entry (plain JS so no loader flags are needed): registers tsx, then runs the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./decode-worker.ts');
