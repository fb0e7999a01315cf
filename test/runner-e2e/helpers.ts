// Shared by the runner end-to-end tests: writable copies of the openfield project, the real CLI, and
// the tiny model (ResNet-18 backbone, 64x64 crops) that keeps lavapipe runs short.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PoseConfig } from '../../src/config/index.ts';
import { copyOpenfield, REPO_ROOT, runCli } from '../project/openfield.ts';

export const SHUFFLE_DIR = 'dlc-models-pytorch/iteration-0/openfieldOct30-trainset95shuffle1';
export const POSE_CONFIG = `${SHUFFLE_DIR}/train/pytorch_config.yaml`;

const temps: string[] = [];
export function cleanup(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A writable copy of the project (the shared one is read-only), removed by cleanup(). */
export function copyProject(): string {
  const dir = copyOpenfield('dlc-gpu-runner-');
  temps.push(dir);
  return dir;
}

export const cli = runCli;

export function cliAsync(...args: string[]): ChildProcess {
  return spawn(process.execPath, [join(REPO_ROOT, 'bin/dlc-gpu.js'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** --set arguments for the tiny model: ResNet-18 (512 channels), 64x64 crops, no augmentation beyond cropping. */
export const TINY_SETS = [
  'model.backbone.model_name=resnet18',
  'model.backbone_output_channels=512',
  'model.heads.bodypart.heatmap_config.channels=[512,4]',
  'model.heads.bodypart.locref_config.channels=[512,8]',
  'data.train.crop_sampling.width=64',
  'data.train.crop_sampling.height=64',
].flatMap((s) => ['--set', s]);

/** A copy of `cfg` with the tiny model (as TINY_SETS) and square crops of `crop` pixels, batch 2. */
export function tinyModelConfig(cfg: PoseConfig, crop: number): PoseConfig & { model: any; data: any; runner: any; logger: any } {
  const c = structuredClone(cfg) as PoseConfig & { model: any; data: any; runner: any; logger: any };
  c.model.backbone.model_name = 'resnet18';
  c.model.backbone_output_channels = 512;
  c.model.heads.bodypart.heatmap_config.channels = [512, 4];
  c.model.heads.bodypart.locref_config.channels = [512, 8];
  c.data.train.crop_sampling.width = crop;
  c.data.train.crop_sampling.height = crop;
  c.train_settings.batch_size = 2;
  return c;
}
