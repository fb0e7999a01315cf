// `dlc-gpu info`: what adapter the engine would run on, its features and the limits that matter.
import { describeAdapter } from '../../gpu/adapter.ts';
import { init } from '../../index.ts';
import '../../models/builtin-types.ts';
import { REGISTRIES } from '../../models/registries.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { loadCommandPlugins } from '../plugins.ts';

const keyLimits = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export const info: Command = {
  summary: 'Show the WebGPU adapter dlc-gpu will use, its features and limits',
  usage: `Usage: dlc-gpu info [--device auto|cpu|cuda|mps|gpu] [--plugin PATH ...] [--json]

Prints the adapter (vendor, architecture, backend), its features and key limits, and the model part types a
config's \`type:\` keys can name (backbones, necks, heads, ..., detectors), with those of each --plugin.
Exits 1 with advice on what to install when no adapter is available.
DLC_GPU_BACKEND=vulkan|opengl|metal|d3d12 forces a Dawn backend; DLC_GPU_ROBUSTNESS=on keeps Dawn's shader
robustness on lavapipe too (it is dropped there by default: src/gpu/robustness.ts).`,
  async run(args) {
    let device = 'auto';
    let json = false;
    const plugins: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--device') device = args[++i] ?? '';
      else if (a.startsWith('--device=')) device = a.slice('--device='.length);
      else if (a === '--plugin') plugins.push(args[++i] ?? '');
      else if (a === '--json') json = true;
      else throw new CliError(`unknown option '${a}'\n${info.usage}`, 2);
    }
    await import('../../models/detectors/index.ts');
    const loaded = await loadCommandPlugins(null, plugins);
    const fromPlugin = new Map(loaded.flatMap((p) => p.types.map((t) => [t, p.path] as const)));
    const types = Object.fromEntries(Object.entries(REGISTRIES).map(([name, r]) => [name, r.names().sort()]));
    let engine;
    try {
      engine = await init({ device });
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    }
    const a = engine.adapter;
    const report = {
      adapter: describeAdapter(a),
      vendor: a.info.vendor,
      architecture: a.info.architecture,
      device: a.info.device,
      description: a.info.description,
      software: a.info.isFallbackAdapter,
      backend: process.env.DLC_GPU_BACKEND || 'default',
      robustness: engine.robust ? 'on' : 'off',
      subgroupSize: [a.info.subgroupMinSize, a.info.subgroupMaxSize],
      features: [...a.features].sort(),
      limits: Object.fromEntries(keyLimits.map((k) => [k, a.limits[k]])),
      types,
      plugins: loaded.map((p) => ({ path: p.path, types: p.types })),
    };
    if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const lines = [
        `adapter:       ${report.adapter}`,
        `vendor:        ${report.vendor}`,
        `architecture:  ${report.architecture}`,
        `backend:       ${report.backend}`,
        `robustness:    ${engine.robust ? "on (Dawn's bounds checks)" : 'off (the driver checks every buffer access; DLC_GPU_ROBUSTNESS=on keeps Dawn\'s)'}`,
        `subgroup size: ${report.subgroupSize.join('..')}`,
        `features:      ${report.features.join(', ')}`,
        'limits:',
        ...keyLimits.map((k) => `  ${k.padEnd(36)}${a.limits[k]}`),
        'model types (a config\'s type: keys):',
        ...Object.entries(types).map(([name, list]) => {
          const shown = list.map((t) => (fromPlugin.has(`${name}:${t}`) ? `${t} (plugin ${fromPlugin.get(`${name}:${t}`)})` : t));
          return `  ${name.padEnd(18)}${shown.length ? shown.join(', ') : '(none)'}`;
        }),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    engine.destroy();
    return 0;
  },
};
