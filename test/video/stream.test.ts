// The analysis loop in-process: cropping gives the keypoints of the cropped frames (in cropped
// coordinates, as DeepLabCut's), and a 2,000-frame video keeps GPU buffers and process memory flat
// (results stream to the .h5; frames are decoded a couple of batches ahead, never held). The frames are
// tiny (16x16, batches of 50) so that 2,000 of them take under a minute on a CPU adapter.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPoseConfig, type PoseConfig } from '../../src/config/index.ts';
import { AugmentationPipeline } from '../../src/data/index.ts';
import { readFrameH5 } from '../../src/io/hdf5-dataframe.ts';
import { readImage, type RgbImage } from '../../src/io/image.ts';
import { unpickle } from '../../src/io/pickle.ts';
import type { PoseModel } from '../../src/models/pose-model.ts';
import { loadPoseModel, predictImage } from '../../src/runner/inference.ts';
import { analyzeVideo, type AnalyzeVideoOptions } from '../../src/video/analyze.ts';
import { probeVideo } from '../../src/video/ffmpeg.ts';
import { videoOutputs } from '../../src/video/outputs.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { useGpu } from '../helpers/gpu.ts';
import { rssAfterGc } from '../helpers/rss.ts';
import { POSE_CONFIG } from '../runner-e2e/helpers.ts';
import { cleanup, ffmpeg, openfieldClip, projectWithSnapshot } from './helpers.ts';

const engine = useGpu();
afterAll(cleanup);

function crop(img: RgbImage, x1: number, x2: number, y1: number, y2: number): RgbImage {
  const w = x2 - x1;
  const data = new Uint8Array(w * (y2 - y1) * 3);
  for (let y = y1; y < y2; y++) data.set(img.data.subarray((y * img.width + x1) * 3, (y * img.width + x2) * 3), (y - y1) * w * 3);
  return { width: w, height: y2 - y1, data };
}

describe.skipIf(!HAS_OPENFIELD)('analyzeVideo', () => {
  let dir: string;
  let cfg: PoseConfig;
  let model: PoseModel;
  let pipeline: AugmentationPipeline;
  const silent = { write: () => true };
  const options = (o: Partial<AnalyzeVideoOptions>): AnalyzeVideoOptions => ({
    model,
    pipeline,
    scorer: 'DLC_Test',
    bodyparts: cfg.metadata.bodyparts,
    batchSize: 8,
    crop: null,
    saveAsCsv: false,
    meta: { pytorchConfig: {}, iteration: 0, trainingFraction: 0.95, individuals: ['animal'], uniqueBodyparts: [] },
    progress: silent,
    ...o,
  });

  beforeAll(async () => {
    const p = await projectWithSnapshot();
    dir = p.dir;
    cfg = loadPoseConfig(join(dir, POSE_CONFIG));
    model = loadPoseModel(cfg, p.snapshot).model;
    pipeline = new AugmentationPipeline(cfg.data.inference);
  }, 120_000);
  afterAll(() => model?.dispose());

  it('with cropping, gives the keypoints of the cropped frames in cropped coordinates', async () => {
    const { clip, pngs } = openfieldClip(join(dir, 'videos'), 'crop', 5);
    const info = probeVideo(clip);
    const outputs = videoOutputs(clip, 'DLC_Test');
    const box = [24, 136, 16, 96] as const;
    const r = await analyzeVideo(info, outputs, options({ crop: box, batchSize: 2 }));
    expect(r.frames).toBe(5);
    expect(r.warning).toBeNull();
    const frame = await readFrameH5(outputs.h5, 'df_with_missing');
    for (let f = 0; f < 5; f++) {
      const image = crop(readImage(pngs[f]!), ...box);
      const [pose] = await predictImage(model, pipeline, pngs[f]!, image, 4, 0);
      expect([...frame.values.subarray(f * 12, (f + 1) * 12)]).toEqual(pose!.flat());
    }
    const meta = (unpickle(readFileSync(outputs.meta)) as Map<string, Map<string, unknown>>).get('data')!;
    expect(meta.get('cropping')).toBe(true);
    expect(meta.get('cropping_parameters')).toEqual([...box]);
    expect(meta.get('frame_dimensions')).toEqual([160, 120]);
    await expect(analyzeVideo(info, videoOutputs(clip, 'DLC_Bad'), options({ crop: [100, 200, 0, 50] }))).rejects.toThrow(/cropping \[100, 200, 0, 50\] \(x1, x2, y1, y2\) is not inside the 160x120 frame/);
  }, 120_000);

  it('keeps GPU buffers and process memory flat over a 2,000-frame video', async () => {
    mkdirSync(join(dir, 'long'), { recursive: true });
    const video = join(dir, 'long', 'long.mkv');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=16x16:rate=30', '-frames:v', '2000', '-c:v', 'ffv1', video);
    const info = probeVideo(video);
    expect(info.frames).toBe(2000);
    const samples: { frames: number; buffers: number; live: number; rss: number }[] = [];
    const before = engine().stats();
    const r = await analyzeVideo(
      info,
      videoOutputs(video, 'DLC_Test'),
      options({
        batchSize: 50,
        onFrames: (frames) => {
          const s = engine().stats();
          samples.push({ frames, buffers: s.liveBuffers + s.pooledBuffers, live: s.liveBuffers, rss: rssAfterGc() });
        },
      }),
    );
    expect(r.frames).toBe(2000);
    expect(samples).toHaveLength(40);
    // After the first batches have filled the pool, not one buffer more, and every one released at the end.
    const steady = samples.slice(3);
    for (const s of steady) if (s.buffers !== steady[0]!.buffers) throw new Error(`at frame ${s.frames}: ${s.buffers} buffers, ${steady[0]!.buffers} before`);
    expect(engine().stats().liveBuffers).toBe(before.liveBuffers);
    // Process memory, measured after a full collection: the peak over the second half of the video is within 32 MB
    // of the first half's (what grows with the video, e.g. rows or readbacks kept per batch, would keep climbing).
    const early = Math.max(...samples.slice(3, 20).map((s) => s.rss));
    const late = Math.max(...samples.slice(20).map((s) => s.rss));
    const trace = samples.map((s) => (s.rss / 2 ** 20).toFixed(0)).join(' ');
    expect((late - early) / 2 ** 20, `RSS MiB after each batch of 50 frames: ${trace}`).toBeLessThan(32);
    const frame = await readFrameH5(videoOutputs(video, 'DLC_Test').h5, 'df_with_missing');
    expect(frame.index).toHaveLength(2000);
    expect(frame.index[1999]).toBe(1999);
  }, 300_000);
});
