// dlc-gpu analyze-videos on a top-down multi-animal shuffle (four individuals, a detector with three boxes per
// frame), on a lossless clip of the demo's rendered frames: the .h5 has DeepLabCut's four column levels and
// holds exactly the keypoints top-down prediction gives on the same frames as PNGs (the fourth individual
// -1 as DeepLabCut pads it); the CSV's four header rows; _meta.pickle, _full.pickle and _assemblies.pickle
// with DeepLabCut's keys and shapes (read by our unpickler and by Python's pickle with numpy); the scorer
// names the detector snapshot; the tracking step is said not to run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AugmentationPipeline } from '../../src/data/index.ts';
import { readFrameH5 } from '../../src/io/hdf5-dataframe.ts';
import { readImage } from '../../src/io/image.ts';
import { NumpyArray, unpickle } from '../../src/io/pickle.ts';
import { loadDetector } from '../../src/runner/detector-train.ts';
import { loadPoseModel } from '../../src/runner/inference.ts';
import { predictTopDown } from '../../src/runner/top-down.ts';
import { useGpu } from '../helpers/gpu.ts';
import { cli } from './helpers.ts';
import { HAS_PANDAS, python } from './python.ts';
import { ANIMALS, cleanupTopDown, clipOf, topDownProject, type TopDownProject } from './top-down-helpers.ts';

useGpu();
afterAll(cleanupTopDown);

const SCORER = 'DLC_Resnet18_demomiceOct30shuffle1_detector_001_snapshot_001';
const FRAMES = 8;

describe('dlc-gpu analyze-videos, top-down', () => {
  let p: TopDownProject;
  let clip: string;
  beforeAll(async () => {
    p = await topDownProject(FRAMES);
    clip = clipOf(join(p.dir, 'project/videos'), 'mice', p.pngs);
  }, 120_000);

  it("writes DeepLabCut's multi-animal .h5, .csv and pickles, with the keypoints top-down prediction gives", async () => {
    const r = cli('analyze-videos', p.config, clip, '--batch-size', '3', '--detector-batch-size', '2', '--save-as-csv');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`Scorer: ${SCORER}`);
    expect(r.stdout).toMatch(/-> Using detector .*snapshot-detector-001\.pt \(detector batch size 2\)/);
    expect(r.stdout).toContain(`Tracking not run: DeepLabCut would now link these detections into tracks (convert_detections2tracklets, stitch_tracklets -> mice${SCORER}_el.h5)`);
    const base = join(p.dir, 'project/videos', `mice${SCORER}`);
    const bodyparts = p.cfg.metadata.bodyparts;
    const individuals = p.cfg.metadata.individuals;
    expect(individuals).toHaveLength(ANIMALS);
    const K = bodyparts.length;
    const frame = await readFrameH5(`${base}.h5`, 'df_with_missing');
    expect(frame.levelNames).toEqual(['scorer', 'individuals', 'bodyparts', 'coords']);
    expect(frame.columns).toEqual(individuals.flatMap((i) => bodyparts.flatMap((bp) => ['x', 'y', 'likelihood'].map((c) => [SCORER, i, bp, c]))));
    expect(frame.index).toEqual([...Array(FRAMES).keys()]);

    // Top-down prediction in-process on the PNGs, one frame at a time (detector on each frame, pose batch 1).
    const { model } = loadPoseModel(p.cfg, p.snapshot);
    const detector = loadDetector(p.cfg, p.detectorSnapshot);
    const expected = await predictTopDown(detector, model, p.pngs.map((path) => ({ path, image: readImage(path) })), {
      maxIndividuals: ANIMALS,
      batchSize: 1,
      bodyparts: K,
      uniqueBodyparts: 0,
      detectorPipeline: new AugmentationPipeline(p.cfg.detector!.data.inference ?? { normalize_images: true }),
      posePipeline: new AugmentationPipeline(p.cfg.data.inference),
    });
    model.dispose();
    detector.dispose();
    const width = ANIMALS * K * 3;
    const got = Array.from({ length: FRAMES }, (_, f) => [...frame.values.subarray(f * width, (f + 1) * width)]);
    expect(got).toEqual(expected.map((e) => e.poses.flat(2)));
    // Three detections per frame: the fourth individual is DeepLabCut's -1 padding, the others are keypoints.
    for (const row of got) {
      expect(row.slice(3 * K * 3)).toEqual(Array(K * 3).fill(-1));
      expect(row.slice(0, 3 * K * 3).every((v) => v !== -1)).toBe(true);
    }
    expect(new Set(got.map((row) => row.slice(0, 3).join())).size).toBeGreaterThan(1);

    const csv = readFileSync(`${base}.csv`, 'utf8').split('\n');
    expect(csv[0]).toBe(['scorer', ...Array(width).fill(SCORER)].join(','));
    expect(csv[1]).toBe(['individuals', ...individuals.flatMap((i) => Array(K * 3).fill(i))].join(','));
    expect(csv[2]).toBe(['bodyparts', ...individuals.flatMap(() => bodyparts.flatMap((b) => [b, b, b]))].join(','));
    expect(csv[3]).toBe(['coords', ...Array(ANIMALS * K).fill('x,y,likelihood')].join(','));
    expect(csv.slice(4, 4 + FRAMES).map((l) => l.split(',').map(Number))).toEqual(got.map((row, f) => [f, ...row]));

    const meta = (unpickle(readFileSync(`${base}_meta.pickle`)) as Map<string, Map<string, unknown>>).get('data')!;
    expect(meta.get('Scorer')).toBe(SCORER);
    expect(meta.get('individuals')).toEqual(individuals);
    expect(meta.get('bodyparts')).toEqual(bodyparts);
    expect(meta.get('unique_bodyparts')).toEqual([]);
    expect(meta.get('batch_size')).toBe(3);
    expect(meta.get('nframes')).toBe(FRAMES);

    // _full.pickle: metadata, then frame<i> with per-bodypart (individuals, 2) / (individuals, 1) arrays and the boxes.
    const full = unpickle(readFileSync(`${base}_full.pickle`)) as Map<string, Map<string, unknown>>;
    expect([...full.keys()]).toEqual(['metadata', ...Array.from({ length: FRAMES }, (_, f) => `frame${f}`)]);
    const fm = full.get('metadata')!;
    expect([...fm.keys()]).toEqual(['nms radius', 'minimal confidence', 'sigma', 'PAFgraph', 'PAFinds', 'all_joints', 'all_joints_names', 'nframes', 'key_str_width']);
    expect(fm.get('all_joints')).toEqual(bodyparts.map((_, i) => [i]));
    expect(fm.get('all_joints_names')).toEqual(bodyparts);
    expect(fm.get('nframes')).toBe(FRAMES);
    expect(fm.get('key_str_width')).toBe(1);
    expect(fm.get('sigma')).toBe(1);
    for (let f = 0; f < FRAMES; f++) {
      const e = full.get(`frame${f}`)!;
      expect([...e.keys()]).toEqual(['coordinates', 'confidence', 'costs', 'bboxes', 'bbox_scores']);
      const [coords] = e.get('coordinates') as [NumpyArray[]];
      const conf = e.get('confidence') as NumpyArray[];
      expect(coords.map((a) => a.shape)).toEqual(Array(K).fill([ANIMALS, 2]));
      expect(conf.map((a) => a.shape)).toEqual(Array(K).fill([ANIMALS, 1]));
      expect(coords[0]!.dtype).toBe('f4');
      expect(e.get('costs')).toBeNull();
      for (let k = 0; k < K; k++)
        for (let i = 0; i < ANIMALS; i++) {
          expect([coords[k]!.values[2 * i], coords[k]!.values[2 * i + 1], conf[k]!.values[i]]).toEqual(expected[f]!.poses[i]![k]!.map(Math.fround));
        }
      const boxes = e.get('bboxes') as NumpyArray;
      const scores = e.get('bbox_scores') as NumpyArray;
      expect(boxes.shape).toEqual([ANIMALS, 4]);
      expect(boxes.values).toEqual(expected[f]!.boxes.flat().map(Math.fround));
      expect(scores.values).toEqual([0.9, 0.8, 0.3, -1].map(Math.fround));
    }

    // _assemblies.pickle: "single" (no unique bodyparts), then per frame the three detected individuals (padding dropped), id -1.
    const asm = unpickle(readFileSync(`${base}_assemblies.pickle`)) as Map<unknown, unknown>;
    expect([...asm.keys()]).toEqual(['single', ...Array(FRAMES).keys()]);
    expect((asm.get('single') as Map<unknown, unknown>).size).toBe(0);
    const a0 = asm.get(0) as NumpyArray;
    expect(a0.shape).toEqual([3, K, 4]);
    expect(a0.dtype).toBe('f8');
    // float32 values (as the model's outputs) widened to float64 by the -1 ids, as np.concatenate widens them.
    expect(a0.values).toEqual(expected[0]!.poses.slice(0, 3).flatMap((pose) => pose.flatMap(([x, y, s]) => [Math.fround(x!), Math.fround(y!), Math.fround(s!), -1])));

    if (HAS_PANDAS) {
      const said = python(
        `
import sys, pickle, numpy as np, pandas as pd
df = pd.read_hdf(sys.argv[1] + ".h5")
csv = pd.read_csv(sys.argv[1] + ".csv", header=[0, 1, 2, 3], index_col=0, float_precision="round_trip")
assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"], df.columns.names
assert (df.columns == csv.columns).all() and (df.values == csv.values).all()
full = pickle.load(open(sys.argv[1] + "_full.pickle", "rb"))
f0 = full["frame0"]
asm = pickle.load(open(sys.argv[1] + "_assemblies.pickle", "rb"))
m = pickle.load(open(sys.argv[1] + "_meta.pickle", "rb"))["data"]
print(df.shape, df.columns.get_level_values("individuals").unique().tolist()[-1], np.stack(f0["coordinates"][0]).shape, f0["bboxes"].dtype, f0["bbox_scores"].tolist()[-1], asm[0].shape, full["metadata"]["PAFinds"].dtype, m["individuals"][-1])
`,
        base,
      );
      expect(said.trim()).toBe(`(${FRAMES}, ${width}) mouse${ANIMALS} (${K}, ${ANIMALS}, 2) float32 -1.0 (3, ${K}, 4) int64 mouse${ANIMALS}`);
    }
  }, 240_000);

  it('refuses a bottom-up flag mix-up and a top-down shuffle without a detector snapshot', () => {
    const missing = cli('analyze-videos', p.config, clip, '--detector-snapshot', join(p.train, 'nope.pt'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.pt: detector snapshot does not exist');
    const bad = cli('analyze-videos', p.config, clip, '--detector-batch-size', '0');
    expect(bad.code).toBe(2);
  });
});
