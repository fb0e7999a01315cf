// `dlc-gpu create-labeled-video`: DeepLabCut's create_labeled_video (fast mode) for videos analysed with
// analyze-videos: the project's colormap, dotsize, pcutoff and (with --draw-skeleton) skeleton and
// skeleton_color, written as <video><scorer>_p<pcutoff>_labeled.mp4 beside the .h5; multi-animal projects
// coloured by bodypart (_bp) or individual (_id), top-down models with their detector's boxes in red. A video without
// results, or that cannot be read, fails with its name while the others are still drawn (exit 1).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Hdf5Error } from '../../io/hdf5-dataframe.ts';
import { readProject, shuffleLayout, type Project } from '../../project/index.ts';
import { dlcScorer } from '../../runner/scorer.ts';
import { colormapColors, COLORMAPS, namedColor } from '../../video/colormap.ts';
import { probeVideo, requireFfmpeg, VideoError } from '../../video/ffmpeg.ts';
import { createLabeledVideo } from '../../video/labeled-video.ts';
import { labeledVideoPath, videoOutputs } from '../../video/outputs.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';
import { snapshotConfig } from '../overrides.ts';
import { loadCommandPlugins } from '../plugins.ts';
import { detectorSnapshotFor, listVideos, snapshotFor } from './analyze-videos.ts';
import { intFlag, isProjectConfig, parseArgs, userError } from './train.ts';

const usage = `Usage: dlc-gpu create-labeled-video <project>/config.yaml <video | folder> [more] [options]
  --shuffle N            shuffle number (default 1)
  --trainingsetindex I   which of config.yaml's TrainingFraction (default 0)
  --snapshot S           best | last | PATH: whose results to draw (default: as analyze-videos)
  --detector-snapshot S  top-down models: the detector snapshot the results were analysed with (default: as analyze-videos)
  --videotype EXT        in folders, videos with this extension
  --destfolder DIR       where analyze-videos wrote the results (default: beside each video)
  --pcutoff P            draw keypoints with likelihood above P (default: config.yaml's pcutoff)
  --dotsize D            dot radius in pixels (default: config.yaml's dotsize)
  --draw-skeleton        connect config.yaml's skeleton pairs in its skeleton_color
  --keypoints-only       keypoints on black, without the video
  --color-by C           multi-animal projects: bodypart (default) or individual
  --no-bboxes            top-down models: do not draw the detector's boxes (drawn by default, in red, where the box
                         score is not below the model config's detector.model.box_score_thresh, else 0.6)
  --output-fps F         frame rate of the labeled video (default: the video's)
  --overwrite            draw again videos that already have a labeled video
  --plugin PATH          load a plugin module (repeatable; also the model config's plugins: list)
Colours: config.yaml's colormap (${COLORMAPS.join(', ')}), one per bodypart (or individual). Writes
<video><scorer>_p<int(100 * pcutoff)>_labeled.mp4 (MPEG-4) beside the .h5; multi-animal projects
<video><scorer>_bp_p<...>_labeled.mp4 (or _id_ with --color-by individual), drawn from the untracked .h5.`;

const VALUE_FLAGS = ['--shuffle', '--trainingsetindex', '--snapshot', '--detector-snapshot', '--videotype', '--destfolder', '--pcutoff', '--dotsize', '--output-fps', '--color-by', '--plugin'];
const BOOL_FLAGS = ['--draw-skeleton', '--keypoints-only', '--overwrite', '--no-bboxes'];

function numberFlag(flags: Map<string, string>, name: string, ok: (v: number) => boolean, what: string): number | undefined {
  const t = flags.get(name);
  if (t === undefined) return undefined;
  const v = Number(t);
  if (!Number.isFinite(v) || !ok(v)) throw new CliError(`${name} must be ${what}, got '${t}'`, 2);
  return v;
}

export const createLabeledVideoCommand: Command = {
  summary: 'Draw analysed keypoints on videos (DeepLabCut’s ..._labeled.mp4)',
  usage,
  async run(args) {
    const { positional, flags, plugins } = parseArgs(args, VALUE_FLAGS, usage, BOOL_FLAGS);
    if (positional.length < 2) throw new CliError(`expected a project config.yaml and at least one video or folder\n\n${usage}`, 2);
    const configPath = resolve(positional[0]!);
    if (!existsSync(configPath)) throw new CliError(`${configPath}: file does not exist`, 1);
    if (!isProjectConfig(configPath)) throw new CliError(`${configPath}: not a DeepLabCut project config.yaml (no Task / scorer)`, 2);
    const shuffle = intFlag(flags, '--shuffle', 0) ?? 1;
    const setIndex = intFlag(flags, '--trainingsetindex', 0) ?? 0;
    const pcArg = numberFlag(flags, '--pcutoff', (v) => v >= 0 && v <= 1, 'between 0 and 1');
    const dotArg = numberFlag(flags, '--dotsize', (v) => v > 0, 'a positive number');
    const fps = numberFlag(flags, '--output-fps', (v) => v > 0, 'a positive number');
    const colorBy = flags.get('--color-by') ?? 'bodypart';
    if (colorBy !== 'bodypart' && colorBy !== 'individual') throw new CliError(`--color-by must be bodypart or individual, got '${colorBy}'`, 2);
    let project: Project;
    try {
      project = readProject(configPath);
    } catch (e) {
      userError(e);
    }
    const raw = project.raw as Record<string, unknown>;
    const fraction = project.trainingFractions[setIndex];
    if (fraction === undefined) throw new CliError(`--trainingsetindex ${setIndex}: ${configPath} has ${project.trainingFractions.length} TrainingFraction value(s)`, 2);
    const layout = shuffleLayout(project, fraction, shuffle);
    if (!existsSync(layout.poseConfig)) throw new CliError(`${layout.poseConfig} does not exist: create, train and analyse with this shuffle first`, 1);
    const pcutoff = pcArg ?? project.pcutoff;
    const dotsize = dotArg ?? (typeof raw.dotsize === 'number' ? raw.dotsize : 12);
    const colormap = typeof raw.colormap === 'string' ? raw.colormap : 'rainbow';
    let skeletonColor: [number, number, number];
    try {
      colormapColors(colormap, 1);
      skeletonColor = namedColor(typeof raw.skeleton_color === 'string' ? raw.skeleton_color : 'black');
    } catch (e) {
      throw new CliError(`${configPath}: ${(e as Error).message}`, 1);
    }
    const skeletonNames: [string, string][] = [];
    if (flags.has('--draw-skeleton')) {
      const sk = raw.skeleton;
      if (!Array.isArray(sk) || !sk.every((p) => Array.isArray(p) && p.length === 2 && p.every((b) => typeof b === 'string')))
        throw new CliError(`${configPath}: skeleton must be a list of [bodypart, bodypart] pairs for --draw-skeleton`, 1);
      skeletonNames.push(...(sk as [string, string][]));
    }
    try {
      requireFfmpeg();
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    }
    const videos = listVideos(positional.slice(1), flags.get('--videotype'));
    const destfolder = flags.has('--destfolder') ? resolve(flags.get('--destfolder')!) : undefined;
    const failures: string[] = [];
    try {
      const trainDir = join(layout.modelDir, 'train');
      const snapshot = snapshotFor(trainDir, flags.get('--snapshot'), project);
      await loadCommandPlugins(layout.poseConfig, plugins);
      const cfg = snapshotConfig(layout.poseConfig, snapshot).config;
      const detectorSnapshot = cfg.method === 'td' ? detectorSnapshotFor(trainDir, flags.get('--detector-snapshot'), project) : undefined;
      const scorer = dlcScorer(cfg.net_type ?? 'model', snapshot, cfg.runner.snapshot_prefix ?? 'snapshot', detectorSnapshot);
      // DeepLabCut: bboxes_pcutoff = the model config's detector.model.box_score_thresh, or 0.6.
      const thresh = (cfg.detector?.model as Record<string, unknown> | undefined)?.box_score_thresh;
      const boxCutoff = typeof thresh === 'number' && thresh ? thresh : 0.6;
      for (const video of videos) {
        const outputs = videoOutputs(video, scorer, destfolder);
        const out = labeledVideoPath(outputs.h5, pcutoff, project.multiAnimal ? colorBy : undefined);
        if (!flags.has('--overwrite') && existsSync(out)) {
          process.stdout.write(`Labeled video ${out} already exists (--overwrite to draw it again)\n`);
          continue;
        }
        try {
          if (!existsSync(outputs.h5)) throw new VideoError(video, `no results to draw (${outputs.h5} does not exist: run analyze-videos first)`);
          const info = probeVideo(video);
          const frames = await createLabeledVideo(info, outputs.h5, outputs.meta, out, {
            colorsFor: (n) => colormapColors(colormap, n),
            colorBy,
            plotBoxes: !flags.has('--no-bboxes'),
            boxCutoff,
            dotsize,
            pcutoff,
            skeletonNames,
            skeleton: [],
            skeletonColor,
            keypointsOnly: flags.has('--keypoints-only'),
            outputFps: fps,
          }, outputs.full);
          process.stdout.write(`${frames} frames: ${out}\n`);
        } catch (err) {
          if (!(err instanceof VideoError || err instanceof Hdf5Error)) throw err;
          failures.push(err.message);
          process.stderr.write(`dlc-gpu create-labeled-video: ${err.message}\n`);
        }
      }
    } catch (err) {
      userError(err);
    }
    if (failures.length) {
      process.stderr.write(`${failures.length} of ${videos.length} video${videos.length === 1 ? '' : 's'} failed:\n${failures.map((f) => `  ${f}\n`).join('')}`);
      return 1;
    }
    return 0;
  },
};
