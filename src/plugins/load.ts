// Plugins: JS or TS modules that register their own types (backbones, heads, losses, ...) in the
// registries. A plugin's default export (or its `register` export) is called with this package's API,
// the very module instance the CLI runs on, so its layers, tensors and kernels are the engine's own
// even when `import 'dlc-gpu'` would resolve elsewhere (a plugin outside the project, or a built copy).
// A plugin may also register at import time through its own imports; both are recorded as its types.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as api from '../index.ts';
import { REGISTRIES } from '../models/registries.ts';
import { registeringAs } from '../models/registry.ts';
import type { RecordedPlugin } from '../runner/checkpoint.ts';
import { PluginError } from './check.ts';

export { PluginError } from './check.ts';

/** A plugin to load and where it was named (for messages): `pytorch_config.yaml: plugins[0]`, `--plugin`. */
export interface PluginRequest {
  path: string;
  from: string;
}

const loaded = new Map<string, RecordedPlugin>();
let tsxRegistered = false;

/** `REGISTRY:Type` for every type a source registered. */
function typesFrom(source: string): string[] {
  return Object.entries(REGISTRIES).flatMap(([name, r]) => r.typesFrom(source).map((t) => `${name}:${t}`));
}

async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    // Plain node (the built package) cannot import TypeScript: load tsx's hooks once and retry.
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || tsxRegistered) throw err;
    const { register } = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
    return (await import(url)) as Record<string, unknown>;
  }
}

/** Loads one plugin (once per path) and returns what it registered. */
export async function loadPlugin(request: PluginRequest): Promise<RecordedPlugin> {
  const path = resolve(request.path);
  const done = loaded.get(path);
  if (done) return done;
  if (!existsSync(path) || !statSync(path).isFile()) throw new PluginError(`${request.from}: the plugin ${path} does not exist`);
  let exported = false;
  try {
    await registeringAs(path, async () => {
      const mod = await importModule(path);
      const register = typeof mod.default === 'function' ? mod.default : typeof mod.register === 'function' ? mod.register : null;
      if (register) {
        exported = true;
        await (register as (dg: typeof api) => unknown)(api);
      }
    });
  } catch (err) {
    const e = err as Error;
    // The first stack line inside the plugin says where it failed.
    const at = e.stack?.split('\n').find((l) => l.includes(path))?.trim();
    throw new PluginError(`${request.from}: the plugin ${path} failed to load: ${e.message}${at ? ` (${at})` : ''}`);
  }
  const types = typesFrom(path);
  if (!types.length)
    throw new PluginError(
      `${request.from}: the plugin ${path} registered no types${exported ? '' : ' and exports no register function'}: export default function (dg) { dg.registries.HEADS.register('MyHead', ...) }`,
    );
  const record = { path, types };
  loaded.set(path, record);
  return record;
}

/** Loads plugins in order; the first failure stops (nothing later is imported). */
export async function loadPlugins(requests: readonly PluginRequest[]): Promise<RecordedPlugin[]> {
  const out: RecordedPlugin[] = [];
  for (const r of requests) {
    const p = await loadPlugin(r);
    if (!out.some((o) => o.path === p.path)) out.push(p);
  }
  return out;
}

/** Every plugin loaded in this process. */
export function loadedPlugins(): RecordedPlugin[] {
  return [...loaded.values()];
}

export { checkSnapshotPlugins } from './check.ts';
