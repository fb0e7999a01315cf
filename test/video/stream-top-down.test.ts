// The top-down analysis loop in-process: with DeepLabCut's SSDLite (randomly initialised) detecting frames
// two at a time and pose batches of three crops, one streamed pass gives exactly what detecting and posing
// frame by frame gives (DeepLabCut's two passes over the video); and over a longer clip GPU buffers and
// process memory stay flat (frames are dropped as soon as their crops are done; results stream to disk).
// The long clip is tiny (32x32 frames, 16x16 crops, ThreeBoxDetector) so it takes seconds on a CPU adapter.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as dg from '../../src/index.ts';
import { AugmentationPipeline } from '../../src/data/index.ts';
import { readFrameH5 } from '../../src/io/hdf5-dataframe.ts';
import { readImage } from '../../src/io/image.ts';
import type { Detector } from '../../src/models/detectors/detector.ts';
import type { PoseModel } from '../../src/models/pose-model.ts';
import { loadDetector } from '../../src/runner/detector-train.ts';
import { loadPoseModel } from '../../src/runner/inference.ts';
import { predictTopDown, type TopDownPrediction } from '../../src/runner/top-down.ts';
import { analyzeVideo } from '../../src/video/analyze.ts';
import { probeVideo } from '../../src/video/ffmpeg.ts';
import { videoOutputs } from '../../src/video/outputs.ts';
import { streamTopDown } from '../../src/video/top-down-stream.ts';
import { useGpu } from '../helpers/gpu.ts';
import { rssAfterGc } from '../helpers/rss.ts';
import { ffmpeg } from './helpers.ts';
import { ANIMALS, cleanupTopDown, topDownProject, type TopDownProject } from './top-down-helpers.ts';

const engine = useGpu();
afterAll(cleanupTopDown);

describe('streamTopDown', () => {
  let p: TopDownProject;
  let model: PoseModel;
  beforeAll(async () => {
    p = await topDownProject(5);
    model = loadPoseModel(p.cfg, p.snapshot).model;
  }, 120_000);
  afterAll(() => model?.dispose());

  it("with SSDLite in batches of two frames and pose batches of three crops, equals frame-by-frame top-down prediction", async () => {
    const detector = dg.registries.DETECTORS.build({ type: 'SSDLite', freeze_bn_stats: true, freeze_bn_weights: false } as never, { where: 'detector.model', seed: 3 }, 'detector.model') as Detector;
    detector.eval();
    try {
      const frames = p.pngs.map((path) => ({ path, image: readImage(path) }));
      const detectorPipeline = new AugmentationPipeline(p.cfg.detector!.data.inference ?? { normalize_images: true });
      const posePipeline = new AugmentationPipeline(p.cfg.data.inference);
      const K = p.cfg.metadata.bodyparts.length;
      const expected = await predictTopDown(detector, model, frames, { maxIndividuals: ANIMALS, batchSize: 1, bodyparts: K, uniqueBodyparts: 0, detectorPipeline, posePipeline });
      const images = frames.map((f) => f.image);
      const got: TopDownPrediction[] = [];
      const n = await streamTopDown(async (count) => images.splice(0, count), (ready) => got.push(...ready), {
        detector, detectorPipeline, detectorBatchSize: 2, model, posePipeline, batchSize: 3, maxIndividuals: ANIMALS, bodyparts: K, label: 'frames',
      });
      expect(n).toBe(frames.length);
      expect(got).toEqual(expected);
      // SSDLite found boxes (random weights: low scores, but above its 0.001 threshold), so poses were run on crops.
      expect(got.every((g) => g.boxScores.every((s) => s > 0))).toBe(true);
    } finally {
      detector.dispose();
    }
  }, 180_000);

  it('keeps GPU buffers and process memory flat over a longer clip', async () => {
    const before = engine().stats();
    const detector = loadDetector(p.cfg, p.detectorSnapshot);
    const cfg = structuredClone(p.cfg);
    (cfg.data.inference as { top_down_crop: { width: number; height: number } }).top_down_crop = { width: 16, height: 16 };
    mkdirSync(join(p.dir, 'long'), { recursive: true });
    const video = join(p.dir, 'long', 'long.mkv');
    const FRAMES = 120;
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=32x32:rate=30', '-frames:v', String(FRAMES), '-c:v', 'ffv1', video);
    const info = probeVideo(video);
    const samples: { frames: number; buffers: number; rss: number }[] = [];
    const outputs = videoOutputs(video, 'DLC_Test');
    try {
      const r = await analyzeVideo(info, outputs, {
        model,
        pipeline: new AugmentationPipeline(cfg.data.inference),
        topDown: { detector, pipeline: new AugmentationPipeline(cfg.detector!.data.inference ?? { normalize_images: true }), batchSize: 10 },
        multiAnimal: true,
        scorer: 'DLC_Test',
        bodyparts: cfg.metadata.bodyparts,
        batchSize: 30,
        crop: null,
        saveAsCsv: false,
        meta: { pytorchConfig: {}, iteration: 0, trainingFraction: 0.75, individuals: cfg.metadata.individuals, uniqueBodyparts: [] },
        progress: { write: () => true },
        onFrames: (frames) => {
          const s = engine().stats();
          samples.push({ frames, buffers: s.liveBuffers + s.pooledBuffers, rss: rssAfterGc() });
        },
      });
      expect(r.frames).toBe(FRAMES);
    } finally {
      detector.dispose();
    }
    // 3 crops per frame in pose batches of 30: frames are handed on 10 at a time.
    expect(samples.length).toBe(FRAMES / 10);
    const steady = samples.slice(3);
    for (const s of steady) if (s.buffers !== steady[0]!.buffers) throw new Error(`at frame ${s.frames}: ${s.buffers} buffers, ${steady[0]!.buffers} before`);
    expect(engine().stats().liveBuffers).toBe(before.liveBuffers);
    const half = Math.floor(samples.length / 2);
    const early = Math.max(...samples.slice(3, half).map((s) => s.rss));
    const late = Math.max(...samples.slice(half).map((s) => s.rss));
    const trace = samples.map((s) => `${s.frames}: ${(s.rss / 2 ** 20).toFixed(1)}`).join(', ');
    expect((late - early) / 2 ** 20, `RSS MiB after each 10 frames: ${trace}`).toBeLessThan(32);
    const frame = await readFrameH5(outputs.h5, 'df_with_missing');
    expect(frame.index).toHaveLength(FRAMES);
    expect(frame.levelNames).toEqual(['scorer', 'individuals', 'bodyparts', 'coords']);
  }, 240_000);
});
