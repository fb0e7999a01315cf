// Checks that span blocks (head sizes against the bodypart list, method against net type), which a
// per-block schema cannot see. Each finding is positioned like a schema error.
import type { ConfigIssue, KeyPath } from './errors.ts';
import type { PoseConfig } from './schema/pose-config.ts';
import { issueAt, type YamlSource } from './yaml-source.ts';

type Stack = { channels: number[]; final_conv?: { out_channels: number } | null } | undefined;

function outputChannels(stack: NonNullable<Stack>): { value: number; path: KeyPath } {
  if (stack.final_conv) return { value: stack.final_conv.out_channels, path: ['final_conv', 'out_channels'] };
  return { value: stack.channels[stack.channels.length - 1]!, path: ['channels', stack.channels.length - 1] };
}

export function checkConsistency(config: PoseConfig, source: YamlSource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: KeyPath, message: string) => issues.push(issueAt(source, path, message));
  const topDownName = config.net_type.startsWith('top_down_');

  if (config.method === 'td' && !topDownName) add(['method'], `method is td but net_type ${config.net_type} is bottom-up`);
  if (config.method === 'bu' && topDownName) add(['method'], `method is bu but net_type ${config.net_type} is top-down`);
  if (config.method === 'td' && !config.detector) add(['detector'], 'top-down (td) configs need a detector block');

  const k = config.metadata.bodyparts.length;
  const c = config.model.backbone_output_channels;
  for (const [name, head] of Object.entries(config.model.heads)) {
    const expected = name === 'unique_bodypart' ? config.metadata.unique_bodyparts.length : k;
    const base: KeyPath = ['model', 'heads', name];
    const stacks: [string, Stack, number][] = [
      ['heatmap_config', head.heatmap_config, expected],
      ['locref_config', head.locref_config, 2 * expected],
    ];
    for (const [key, stack, want] of stacks) {
      if (!stack) continue;
      if (stack.channels[0] !== c) {
        add([...base, key, 'channels', 0], `first channel count ${stack.channels[0]} must equal backbone_output_channels (${c})`);
      }
      if (name === 'bodypart' || name === 'unique_bodypart') {
        const out = outputChannels(stack);
        if (out.value !== want) add([...base, key, ...out.path], `outputs ${out.value} channels but the project needs ${want}`);
      }
    }
  }

  for (const block of ['train', 'inference'] as const) {
    const flip = config.data[block].hflip;
    if (flip && typeof flip === 'object') {
      flip.symmetries.forEach((pair, i) =>
        pair.forEach((index, j) => {
          if (index >= k) add(['data', block, 'hflip', 'symmetries', i, j], `keypoint index ${index} is out of range (${k} bodyparts)`);
        }),
      );
    }
  }
  return issues;
}
