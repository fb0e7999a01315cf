// The command table: each command lives in its own file beside this one.
import type { Command } from '../command.ts';
import { info } from './info.ts';
import { config } from './config.ts';
import { createDatasetCommand } from './create-dataset.ts';
import { data } from './data.ts';
import { trainCommand } from './train.ts';
import { evaluateCommand } from './evaluate.ts';
import { predictCommand } from './predict.ts';
import { demoCommand } from './demo.ts';
import { analyzeVideosCommand } from './analyze-videos.ts';
import { createLabeledVideoCommand } from './create-labeled-video.ts';

export const commands: Record<string, Command> = {
  info,
  demo: demoCommand,
  'create-dataset': createDatasetCommand,
  config,
  data,
  train: trainCommand,
  evaluate: evaluateCommand,
  predict: predictCommand,
  'analyze-videos': analyzeVideosCommand,
  'create-labeled-video': createLabeledVideoCommand,
};
