// `dlc-gpu analyze-videos`: DeepLabCut's analyze_videos for bottom-up single-animal models and top-down
// (single- or multi-animal) models. Each video is decoded by ffmpeg (raw RGB over a pipe), run through the
// shuffle's snapshot (and, top-down, its detector snapshot) on the GPU with decoding overlapped, and written
// as DeepLabCut names and writes it: <video><scorer>.h5, optionally .csv, _meta.pickle, _full.pickle and,
// multi-animal, _assemblies.pickle, beside the video or in --destfolder. DeepLabCut then tracks
// multi-animal results (tracklets, _el.h5); dlc-gpu does not, and says so. A video that cannot be read fails with its name and
// the reason while the others are still analysed; the exit code is then 1, with the failures listed.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { AugmentationPipeline } from '../../data/index.ts';
import { GpuError } from '../../gpu/engine.ts';
import { init } from '../../index.ts';
import { Hdf5Error } from '../../io/hdf5-dataframe.ts';
import { readProject, shuffleLayout, type Project } from '../../project/index.ts';
import { dlcScorer } from '../../runner/scorer.ts';
import { listSnapshots } from '../../runner/snapshots.ts';
import { probeVideo, requireFfmpeg, VideoError } from '../../video/ffmpeg.ts';
import type { Crop } from '../../video/frame-reader.ts';
import type { TopDownAnalysis } from '../../video/analyze.ts';
import { fullMetadata } from '../../video/full-pickle.ts';
import { SUPPORTED_VIDEOS, videoOutputs } from '../../video/outputs.ts';
import { CliError } from '../cli-error.ts';
import { snapshotConfig } from '../overrides.ts';
import { loadCommandPlugins } from '../plugins.ts';
import type { Command } from '../command.ts';
import { chooseDetectorSnapshot, chooseSnapshot } from './evaluate.ts';
import { intFlag, isProjectConfig, parseArgs, userError } from './train.ts';

const usage = `Usage: dlc-gpu analyze-videos <project>/config.yaml <video | folder> [more videos or folders] [options]
  --shuffle N             shuffle number (default 1)
  --trainingsetindex I    which of config.yaml's TrainingFraction (default 0)
  --snapshot S            best | last | PATH to a .pt (default: config.yaml's snapshotindex; -1 = the best
                          snapshot if there is one, else the last)
  --videotype EXT         in folders, analyse files with this extension (default: ${SUPPORTED_VIDEOS.join(', ')})
  --batch-size B          frames per batch; top-down: crops per pose batch (default: config.yaml's batch_size)
  --detector-snapshot S   top-down models: best | last | PATH to a snapshot-detector-*.pt (default: config.yaml's
                          detector_snapshotindex; -1 = the best detector snapshot if there is one, else the last)
  --detector-batch-size B top-down models: frames per detector call (default: config.yaml's detector_batch_size, 1)
  --cropping x1,x2,y1,y2  analyse frame[y1:y2, x1:x2] (default: config.yaml's x1..y2 when cropping: true);
                          keypoints stay in cropped coordinates, as DeepLabCut's
  --frames N              analyse only the first N frames of each video
  --destfolder DIR        write the results there (default: beside each video)
  --save-as-csv           also write <video><scorer>.csv
  --overwrite             analyse again videos that already have a _full.pickle or .h5 (default: skip them)
  --device D              auto | cpu | cuda | mps | gpu
  --plugin PATH           load a plugin module (repeatable; also the model config's plugins: list)
Writes <video><scorer>.h5 (pandas DataFrame under key df_with_missing: columns scorer / [individuals] /
bodyparts / coords x, y, likelihood; one row per frame; top-down individuals past the detections are -1, as
DeepLabCut writes them), <video><scorer>_meta.pickle and _full.pickle (with a top-down model's boxes), and for
multi-animal projects _assemblies.pickle, with the scorer DLC_<Net>_<Task><date>shuffle<N>_snapshot_<uid>
(top-down: ..._detector_<uid>_snapshot_<uid>). Models: bottom-up single-animal, top-down. DeepLabCut's tracking
step after a multi-animal analysis (tracklets, _el.h5) is not run.
Exit codes: 0 all videos analysed (or already were), 1 some failed (listed at the end), 2 bad usage,
130 interrupted (Ctrl-C, SIGTERM: the partial files of the video in progress are removed).`;

const VALUE_FLAGS = ['--shuffle', '--trainingsetindex', '--snapshot', '--detector-snapshot', '--detector-batch-size', '--videotype', '--batch-size', '--cropping', '--frames', '--destfolder', '--device', '--plugin'];
const BOOL_FLAGS = ['--save-as-csv', '--overwrite'];

/** Files given, and in folders given those with the video type (DeepLabCut's list_videos_in_folder), skipping labeled videos. */
export function listVideos(inputs: readonly string[], videotype: string | undefined): string[] {
  const types = videotype ? [videotype.replace(/^\./, '').toLowerCase()] : SUPPORTED_VIDEOS;
  const out: string[] = [];
  for (const input of inputs) {
    const p = resolve(input);
    if (existsSync(p) && statSync(p).isDirectory()) {
      const found = readdirSync(p)
        .filter((f) => types.includes(extname(f).slice(1).toLowerCase()) && !/_labeled\.[^.]+$/.test(f))
        .sort()
        .map((f) => join(p, f));
      if (!found.length) throw new CliError(`${p}: no ${types.map((t) => `.${t}`).join('/')} videos in this folder`, 1);
      out.push(...found);
    } else out.push(p); // a missing file fails later with its name, and does not stop the others
  }
  return out;
}

/** --cropping x1,x2,y1,y2, or the project's cropping: true with x1..y2. */
export function croppingOf(flag: string | undefined, project: Project): Crop | null {
  if (flag !== undefined) {
    const v = flag.split(',').map((s) => Number(s.trim()));
    if (v.length !== 4 || !v.every((n) => Number.isInteger(n) && n >= 0)) throw new CliError(`--cropping must be four whole numbers x1,x2,y1,y2, got '${flag}'`, 2);
    return v as unknown as Crop;
  }
  const raw = project.raw as Record<string, unknown>;
  if (raw.cropping !== true) return null;
  const v = ['x1', 'x2', 'y1', 'y2'].map((k) => raw[k]);
  if (!v.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0)) throw new CliError(`${project.configPath}: cropping is true but x1, x2, y1, y2 are not all whole numbers`, 1);
  return v as unknown as Crop;
}

/** --snapshot, else config.yaml's snapshotindex (-1: the last of DeepLabCut's list, the best when there is one). */
export function snapshotFor(trainDir: string, flag: string | undefined, project: Project): string {
  if (flag !== undefined) return chooseSnapshot(trainDir, flag);
  const index = (project.raw as Record<string, unknown>).snapshotindex;
  if (typeof index === 'number' && Number.isInteger(index) && index !== -1) {
    const all = listSnapshots(trainDir);
    const s = index < 0 ? all[all.length + index] : all[index];
    if (!s) throw new CliError(`${project.configPath}: snapshotindex ${index} but ${trainDir} has ${all.length} snapshot(s)`, 1);
    return s.path;
  }
  return chooseSnapshot(trainDir, undefined);
}

/** --detector-snapshot, else config.yaml's detector_snapshotindex (-1: the best detector snapshot, else the last). */
export function detectorSnapshotFor(trainDir: string, flag: string | undefined, project: Project): string {
  let chosen: string | null;
  const index = (project.raw as Record<string, unknown>).detector_snapshotindex;
  if (flag === undefined && typeof index === 'number' && Number.isInteger(index) && index !== -1) {
    const all = listSnapshots(trainDir, 'snapshot-detector');
    chosen = (index < 0 ? all[all.length + index] : all[index])?.path ?? null;
    if (!chosen) throw new CliError(`${project.configPath}: detector_snapshotindex ${index} but ${trainDir} has ${all.length} detector snapshot(s)`, 1);
  } else chosen = chooseDetectorSnapshot(trainDir, flag);
  // DeepLabCut refuses too: a top-down model cannot analyse a video without a detector.
  if (!chosen) throw new CliError(`${trainDir}: no snapshot-detector-*.pt: a top-down model needs its detector to analyse videos (train it with 'dlc-gpu train', or pass --detector-snapshot)`, 1);
  return chosen;
}

/** The shuffle's test/pose_cfg.yaml (what _full.pickle's metadata copies), or null when it is missing or unreadable. */
function readPoseCfg(path: string): Record<string, unknown> | null {
  try {
    const v = parse(readFileSync(path, 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export const analyzeVideosCommand: Command = {
  summary: "Analyse videos with a trained snapshot (DeepLabCut's .h5 / .csv / _meta.pickle per video)",
  usage,
  async run(args) {
    const { positional, flags, plugins } = parseArgs(args, VALUE_FLAGS, usage, BOOL_FLAGS);
    if (positional.length < 2) throw new CliError(`expected a project config.yaml and at least one video or folder\n\n${usage}`, 2);
    const configPath = resolve(positional[0]!);
    if (!existsSync(configPath)) throw new CliError(`${configPath}: file does not exist`, 1);
    if (!isProjectConfig(configPath)) throw new CliError(`${configPath}: not a DeepLabCut project config.yaml (no Task / scorer)`, 2);
    const shuffle = intFlag(flags, '--shuffle', 0) ?? 1;
    const setIndex = intFlag(flags, '--trainingsetindex', 0) ?? 0;
    const batchFlag = intFlag(flags, '--batch-size', 1);
    const maxFrames = intFlag(flags, '--frames', 1);
    const detectorBatchFlag = intFlag(flags, '--detector-batch-size', 1);
    let project: Project;
    try {
      project = readProject(configPath);
    } catch (e) {
      userError(e);
    }
    const fraction = project.trainingFractions[setIndex];
    if (fraction === undefined) throw new CliError(`--trainingsetindex ${setIndex}: ${configPath} has ${project.trainingFractions.length} TrainingFraction value(s)`, 2);
    const crop = croppingOf(flags.get('--cropping'), project);
    const layout = shuffleLayout(project, fraction, shuffle);
    if (!existsSync(layout.poseConfig)) throw new CliError(`${layout.poseConfig} does not exist: run 'dlc-gpu create-dataset ${positional[0]} --shuffle ${shuffle}' and train first`, 1);
    const videos = listVideos(positional.slice(1), flags.get('--videotype'));
    const destfolder = flags.has('--destfolder') ? resolve(flags.get('--destfolder')!) : undefined;
    const failures: string[] = [];
    try {
      requireFfmpeg();
    } catch (e) {
      throw new CliError((e as Error).message, 1);
    }
    try {
      const trainDir = join(layout.modelDir, 'train');
      const snapshot = snapshotFor(trainDir, flags.get('--snapshot'), project);
      // The model as the snapshot was trained: pytorch_config.yaml plus the run's recorded overrides (as predict).
      await loadCommandPlugins(layout.poseConfig, plugins);
      const trained = snapshotConfig(layout.poseConfig, snapshot);
      if (trained.applied.length) process.stdout.write(`Using the overrides ${snapshot} was trained with: ${trained.applied.join(', ')}\n`);
      const cfg = trained.config;
      const topDown = cfg.method === 'td';
      for (const flag of ['--detector-snapshot', '--detector-batch-size'])
        if (!topDown && flags.has(flag)) throw new CliError(`${flag} is for top-down models; ${layout.poseConfig} is a bottom-up model`, 2);
      if (!topDown && (cfg.metadata.individuals.length > 1 || cfg.metadata.unique_bodyparts.length > 0))
        throw new CliError(`${layout.poseConfig}: multi-animal bottom-up models (individuals, unique bodyparts) are not supported by analyze-videos`, 1);
      if (topDown && !cfg.detector) throw new CliError(`${layout.poseConfig}: a top-down model needs a detector block to analyse videos`, 1);
      const raw = project.raw as Record<string, unknown>;
      const batchSize = batchFlag ?? (typeof raw.batch_size === 'number' ? (raw.batch_size as number) : 1);
      if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new CliError(`${configPath}: batch_size must be a whole number >= 1`, 1);
      const detectorBatchSize = detectorBatchFlag ?? (typeof raw.detector_batch_size === 'number' ? (raw.detector_batch_size as number) : 1);
      if (!(Number.isInteger(detectorBatchSize) && detectorBatchSize >= 1)) throw new CliError(`${configPath}: detector_batch_size must be a whole number >= 1`, 1);
      const detectorSnapshot = topDown ? detectorSnapshotFor(trainDir, flags.get('--detector-snapshot'), project) : undefined;
      const scorer = dlcScorer(cfg.net_type ?? 'model', snapshot, cfg.runner.snapshot_prefix ?? 'snapshot', detectorSnapshot);
      // Videos already analysed are skipped before the GPU and the model are set up (DeepLabCut checks
      // _full.pickle; the .h5 counts too).
      const todo = videos.filter((video) => {
        const out = videoOutputs(video, scorer, destfolder);
        const found = [out.full, out.h5].find((p) => existsSync(p));
        if (flags.has('--overwrite') || !found) return true;
        process.stdout.write(`Video ${video} already analyzed at ${found} (--overwrite to analyse it again)\n`);
        return false;
      });
      if (!todo.length) return 0;
      await init({ device: flags.get('--device') ?? cfg.device ?? 'auto' }).catch((e: Error) => {
        throw new CliError(e.message, 1);
      });
      const { loadPoseModel } = await import('../../runner/inference.ts');
      const { analyzeVideo, removePartials } = await import('../../video/analyze.ts');
      // Ctrl-C / SIGTERM: no half-written result is left behind (finished videos keep theirs).
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.once(sig, () => {
          const removed = removePartials();
          process.stderr.write(`\ndlc-gpu analyze-videos: interrupted${removed.length ? `; removed the partial ${removed.join(', ')}` : ''}\n`);
          process.exit(130);
        });
      }
      process.stdout.write(`Analyzing videos with ${snapshot}\n${detectorSnapshot ? `  -> Using detector ${detectorSnapshot} (detector batch size ${detectorBatchSize})\n` : ''}Scorer: ${scorer}\n`);
      const { model } = loadPoseModel(cfg, snapshot);
      let detector: { dispose(): void } | null = null;
      try {
        const pipeline = new AugmentationPipeline(cfg.data.inference);
        let analysis: TopDownAnalysis | undefined;
        if (detectorSnapshot) {
          const { loadDetector } = await import('../../runner/detector-train.ts');
          const d = loadDetector(cfg, detectorSnapshot);
          detector = d;
          analysis = { detector: d, pipeline: new AugmentationPipeline(cfg.detector!.data.inference ?? { normalize_images: true }), batchSize: detectorBatchSize };
        }
        const pytorchConfig = parse(trained.text);
        const fullMeta = fullMetadata(readPoseCfg(layout.testPoseCfg), cfg.metadata.bodyparts);
        if (destfolder) mkdirSync(destfolder, { recursive: true });
        for (const video of todo) {
          const outputs = videoOutputs(video, scorer, destfolder);
          try {
            const info = probeVideo(video);
            process.stdout.write(`${video}: ${info.width}x${info.height}, ${info.fps.toFixed(2)} fps, ${info.frames} frames${crop ? `, cropped to [${crop.join(', ')}]` : ''}\n`);
            const r = await analyzeVideo(info, outputs, {
              model,
              pipeline,
              topDown: analysis,
              multiAnimal: project.multiAnimal,
              fullMetadata: fullMeta,
              scorer,
              bodyparts: cfg.metadata.bodyparts,
              batchSize,
              crop,
              maxFrames,
              saveAsCsv: flags.has('--save-as-csv'),
              meta: { pytorchConfig, iteration: project.iteration, trainingFraction: fraction, individuals: cfg.metadata.individuals, uniqueBodyparts: cfg.metadata.unique_bodyparts },
            });
            if (r.warning) process.stderr.write(`warning: ${r.warning}\n`);
            process.stdout.write(`${r.frames} frames in ${r.seconds.toFixed(1)} s (${(r.frames / r.seconds).toFixed(1)} frames/s): ${outputs.h5}\n`);
            if (project.multiAnimal) {
              process.stdout.write(
                `Tracking not run: DeepLabCut would now link these detections into tracks (convert_detections2tracklets, stitch_tracklets -> ${outputs.prefix}_el.h5); dlc-gpu wrote the untracked ${basename(outputs.h5)}, ${basename(outputs.full)}, ${basename(outputs.assemblies)} and ${basename(outputs.meta)}\n`,
              );
            }
          } catch (err) {
            if (!(err instanceof VideoError || err instanceof Hdf5Error)) throw err;
            failures.push(err.message);
            process.stderr.write(`dlc-gpu analyze-videos: ${err.message}\n`);
          }
        }
      } finally {
        model.dispose();
        detector?.dispose();
      }
    } catch (err) {
      if (err instanceof GpuError && err.kind !== 'other') {
        throw new CliError(`${err.message}.\nThe model and a batch of frames do not fit this device: lower --batch-size (or config.yaml's batch_size; top-down models also --detector-batch-size), or analyse a smaller region with --cropping.`, 1);
      }
      userError(err);
    }
    if (failures.length) {
      process.stderr.write(`${failures.length} of ${videos.length} video${videos.length === 1 ? '' : 's'} failed:\n${failures.map((f) => `  ${f}\n`).join('')}`);
      return 1;
    }
    process.stdout.write('The videos are analyzed.\n');
    return 0;
  },
};
