// The per-frame pickles DeepLabCut's analyze_videos writes beside the .h5, following DeepLabCut 3.0.x's source
// (pose_estimation_pytorch/apis/videos.py: _generate_output_data and _generate_assemblies_file, the same in
// v3.0.0 and 3.0.1):
//   <prefix>_full.pickle: {"metadata": {...from test/pose_cfg.yaml, nframes, key_str_width},
//     "frame<i zero-filled to ceil(log10(nframes))>": {"coordinates": ([per bodypart (n, 2)],),
//     "confidence": [per bodypart (n, 1)], "costs": None, and for top-down models "bboxes" (n, 4) xywh and
//     "bbox_scores" (n,)}} with n = max_individuals (rows past the detections are DeepLabCut's -1 padding);
//   <prefix>_assemblies.pickle (multi-animal projects): {"single": {}, <frame>: (n kept, K, 4) float64 of
//     x, y, score, id (-1: no identity head)}, the all-negative (padding) rows removed.
// Arrays are float32 as the model's outputs are, except in a frame without any detection, where DeepLabCut's
// PadOutputs builds its padding from np.empty(..., dtype=float): float64 there.
// The key width depends on the frame count, known only at the end, so frames are first streamed as pickled
// values into a side file and spliced under their keys when the video is done: memory stays flat.
import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Pose } from '../runner/inference.ts';
import { partialPath } from './outputs.ts';
import { ndarray, pickleFragment, PickleDictFile, type NumpyDtype } from './pickle-stream.ts';

/** What _full.pickle's metadata copies from the shuffle's test/pose_cfg.yaml (keys as DeepLabCut names them). */
export interface FullMetadata {
  nmsRadius: unknown;
  minConfidence: unknown;
  sigma: unknown;
  pafGraph: unknown;
  pafInds: unknown;
  allJointsNames: string[];
}

/** DeepLabCut's reads of pose_cfg (get with defaults): nmsradius, minconfidence, sigma (1), partaffinityfield_graph, paf_best. */
export function fullMetadata(poseCfg: Record<string, unknown> | null, bodyparts: readonly string[]): FullMetadata {
  const cfg = poseCfg ?? {};
  const graph = 'partaffinityfield_graph' in cfg ? cfg.partaffinityfield_graph : undefined;
  const names = Array.isArray(cfg.all_joints_names) ? cfg.all_joints_names.map(String) : [...bodyparts];
  const joints = Array.isArray(cfg.all_joints) ? cfg.all_joints.length : names.length;
  const edges = Array.isArray(graph) ? graph.length : 0;
  return {
    nmsRadius: cfg.nmsradius ?? null,
    minConfidence: cfg.minconfidence ?? null,
    sigma: cfg.sigma ?? 1,
    pafGraph: graph ?? null,
    // np.arange(len(pose_config.get("partaffinityfield_graph", []))) when there is no paf_best
    pafInds: cfg.paf_best ?? ndarray('i8', [edges], Array.from({ length: edges }, (_, i) => i)),
    allJointsNames: names.slice(0, joints),
  };
}

/** One frame's predictions: [n][K] (x, y, score); top-down models add boxes [n] xywh and their scores. */
export interface FramePrediction {
  poses: readonly Pose[];
  boxes?: readonly (readonly number[])[];
  boxScores?: readonly number[];
}

const hasDetection = (p: FramePrediction) => (p.boxScores ? p.boxScores.some((s) => s !== -1) : true);

function frameValue(p: FramePrediction): Map<string, unknown> {
  const n = p.poses.length;
  const K = n ? p.poses[0]!.length : 0;
  const dtype: NumpyDtype = hasDetection(p) ? 'f4' : 'f8';
  const coordinates: unknown[] = [];
  const confidence: unknown[] = [];
  for (let k = 0; k < K; k++) {
    coordinates.push(ndarray(dtype, [n, 2], p.poses.flatMap((pose) => [pose[k]![0]!, pose[k]![1]!])));
    confidence.push(ndarray(dtype, [n, 1], p.poses.map((pose) => pose[k]![2]!)));
  }
  const value = new Map<string, unknown>([
    ['coordinates', Object.freeze([coordinates])],
    ['confidence', confidence],
    ['costs', null],
  ]);
  if (p.boxes) value.set('bboxes', ndarray(dtype, [p.boxes.length, 4], p.boxes.flat()));
  if (p.boxScores) value.set('bbox_scores', ndarray(dtype, [p.boxScores.length], p.boxScores));
  return value;
}

/** Streams frames into <prefix>_full.pickle: `append` per frame, `close` when the video is done. */
export class FullPickleWriter {
  readonly temp: string;
  readonly side: string;
  private fd: number;
  private frames = 0;

  constructor(
    readonly path: string,
    private readonly meta: FullMetadata,
  ) {
    this.temp = partialPath(path);
    this.side = `${this.temp}.frames`;
    this.fd = openSync(this.side, 'w');
  }

  append(p: FramePrediction): void {
    const bytes = pickleFragment(frameValue(p));
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, bytes.length, true);
    writeSync(this.fd, head);
    writeSync(this.fd, bytes);
    this.frames++;
  }

  get count(): number {
    return this.frames;
  }

  /** Writes the final file (metadata, then each frame under its key) and renames it into place. */
  close(): void {
    closeSync(this.fd);
    this.fd = -1;
    const n = this.frames;
    const width = n > 0 ? Math.ceil(Math.log10(n)) : 0;
    const out = new PickleDictFile(this.temp);
    try {
      out.set(
        'metadata',
        new Map<string, unknown>([
          ['nms radius', this.meta.nmsRadius],
          ['minimal confidence', this.meta.minConfidence],
          ['sigma', this.meta.sigma],
          ['PAFgraph', this.meta.pafGraph],
          ['PAFinds', this.meta.pafInds],
          ['all_joints', this.meta.allJointsNames.map((_, i) => [i])],
          ['all_joints_names', this.meta.allJointsNames],
          ['nframes', n],
          ['key_str_width', width],
        ]),
      );
      const fd = openSync(this.side, 'r');
      try {
        const head = new Uint8Array(4);
        let at = 0;
        for (let f = 0; f < n; f++) {
          readSync(fd, head, 0, 4, at);
          const len = new DataView(head.buffer).getUint32(0, true);
          const value = new Uint8Array(len);
          readSync(fd, value, 0, len, at + 4);
          at += 4 + len;
          out.setRaw(pickleFragment(`frame${String(f).padStart(width, '0')}`), value);
        }
      } finally {
        closeSync(fd);
      }
      out.close();
    } catch (e) {
      out.abort();
      rmSync(this.temp, { force: true });
      throw e;
    } finally {
      rmSync(this.side, { force: true });
    }
    renameSync(this.temp, this.path);
  }

  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    rmSync(this.side, { force: true });
    rmSync(this.temp, { force: true });
  }
}

/** Streams <prefix>_assemblies.pickle: per frame the predicted individuals with any non-negative value. */
export class AssembliesWriter {
  readonly temp: string;
  private out: PickleDictFile;
  private frames = 0;

  constructor(readonly path: string) {
    this.temp = partialPath(path);
    this.out = new PickleDictFile(this.temp);
    // Unique bodyparts would go here per frame; top-down models have none (dlc-gpu refuses them).
    this.out.set('single', new Map());
  }

  append(p: FramePrediction): void {
    // np.all(preds < 0) is false for NaN, so NaN rows are kept as DeepLabCut keeps them.
    const kept = p.poses.filter((pose) => !pose.every(([x, y, s]) => x! < 0 && y! < 0 && s! < 0));
    const K = p.poses.length ? p.poses[0]!.length : 0;
    // Stored as float32 (or float64 when padded) and widened to float64 by np.concatenate with the -1 ids.
    const f32 = hasDetection(p);
    const cast = (v: number) => (f32 ? Math.fround(v) : v);
    const values = kept.flatMap((pose) => pose.flatMap(([x, y, s]) => [cast(x!), cast(y!), cast(s!), -1]));
    this.out.set(this.frames++, ndarray('f8', [kept.length, K, 4], values));
  }

  close(): void {
    this.out.close();
    renameSync(this.temp, this.path);
  }

  abort(): void {
    this.out.abort();
    rmSync(this.temp, { force: true });
  }
}
