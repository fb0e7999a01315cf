// Whether a snapshot's plugins are loaded: light (registries only), so commands can check it before they
// load the engine.
import { REGISTRIES } from '../models/registries.ts';
import type { RecordedPlugin } from '../runner/checkpoint.ts';

export class PluginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PluginError';
  }
}

/**
 * Fails naming the plugin when types a snapshot's model was built with are not registered now (the plugin
 * is in neither the config's plugins: nor a --plugin).
 */
export function checkSnapshotPlugins(snapshot: string, recorded: readonly RecordedPlugin[] | undefined, configFile: string): void {
  for (const p of recorded ?? []) {
    const missing = p.types.filter((t) => {
      const [registry, type] = t.split(':') as [string, string];
      const r = REGISTRIES[registry as keyof typeof REGISTRIES];
      return !r || !r.has(type);
    });
    if (missing.length)
      throw new PluginError(
        `${snapshot} was trained with the plugin ${p.path} (${missing.join(', ')}), which is not loaded: pass --plugin ${p.path} or list it under plugins: in ${configFile}`,
      );
  }
}
