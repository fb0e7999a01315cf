// DeepLabCut's create_labeled_video (fast mode, utils/make_labeled_video.py CreateVideo) for one analysed
// video: frames decoded by ffmpeg, the .h5's keypoints drawn on each (or on black with keypointsOnly),
// encoded by a second ffmpeg into <h5 name>[_bp|_id]_p<pcutoff>_labeled.mp4. Multi-animal results (columns
// scorer / individuals / bodyparts / coords) are coloured by bodypart or by individual, the skeleton joins
// each individual's own bodyparts, and a top-down model's boxes (from _full.pickle) are drawn in red where
// their score is not below bboxes_pcutoff; individuals padded with -1 (likelihood -1) are never drawn.
// Frames and rows stream through (a slice of the table at a time); the boxes are read from _full.pickle up
// front into one small array per frame (DeepLabCut loads the whole file too). The output is written under
// a partial name and renamed when complete.
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { openFrameH5 } from '../io/hdf5-dataframe.ts';
import { NumpyArray, unpickle } from '../io/pickle.ts';
import type { Rgb } from './colormap.ts';
import type { DrawStyle } from './draw-poses.ts';
import { drawBoxes, drawPoses } from './draw-poses.ts';
import { VideoEncoder } from './encoder.ts';
import { VideoError, type VideoInfo } from './ffmpeg.ts';
import { FrameReader } from './frame-reader.ts';
import { partialPath } from './outputs.ts';
import type { ProgressOut } from './progress.ts';
import { VideoProgress } from './progress.ts';

export interface LabeledVideoOptions extends Omit<DrawStyle, 'colors'> {
  /** `n` colours spread over the colormap (n bodyparts, or n individuals with colorBy individual). */
  colorsFor: (n: number) => DrawStyle['colors'];
  /** Multi-animal results: colour by bodypart (DeepLabCut's default) or by individual. */
  colorBy?: 'bodypart' | 'individual';
  /** A top-down model's boxes: drawn when the _full.pickle has them, unless false. */
  plotBoxes?: boolean;
  /** Boxes whose score is below this are not drawn (DeepLabCut: detector.model.box_score_thresh, else 0.6). */
  boxCutoff?: number;
  /** Bodypart-name pairs to connect (config.yaml's skeleton). */
  skeletonNames: readonly (readonly [string, string])[];
  keypointsOnly: boolean;
  outputFps?: number;
  progress?: ProgressOut;
}

const ROWS = 256; // table rows read per slice
const BOX_COLOR: Rgb = [255, 0, 0];

/** Per frame (in frame order) its boxes (xywh) and scores, from _full.pickle; null when it has none (bottom-up). */
export function readBoxes(fullPath: string): { boxes: Float32Array; scores: Float32Array }[] | null {
  if (!existsSync(fullPath)) return null;
  let full: unknown;
  try {
    full = unpickle(readFileSync(fullPath));
  } catch (e) {
    throw new VideoError(fullPath, `cannot be read (${(e as Error).message})`);
  }
  if (!(full instanceof Map)) throw new VideoError(fullPath, 'is not a dict: not a DeepLabCut _full.pickle');
  // DeepLabCut: frames_dict = {int(key[5:]): value for "frame<digits>" keys}, then boxes only if its first frame has them.
  const frames = [...full.keys()].filter((k): k is string => typeof k === 'string' && /^frame\d+$/.test(k)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const first = frames.length ? full.get(frames[0]!) : undefined;
  if (!(first instanceof Map) || !first.has('bboxes')) return null;
  return frames.map((k) => {
    const f = full.get(k) as Map<string, unknown>;
    const b = f.get('bboxes');
    const s = f.get('bbox_scores');
    if (!(b instanceof NumpyArray)) throw new VideoError(fullPath, `${k}: bboxes is not an array`);
    const n = b.shape[0] ?? 0;
    // No scores: every box is drawn (DeepLabCut only compares when bbox_scores is there).
    const scores = s instanceof NumpyArray ? Float32Array.from(s.values as number[]) : new Float32Array(n).fill(Infinity);
    return { boxes: Float32Array.from(b.values as number[]), scores };
  });
}

/** Column triples' (individual, bodypart) and DeepLabCut's colour index of each (map2bp or map2id). */
export function columnColors(columns: readonly (readonly string[])[], levels: number, colorBy: 'bodypart' | 'individual'): { names: string[]; index: number[]; bodyparts: string[]; individuals: string[] } {
  const triples = columns.filter((_, i) => i % 3 === 0);
  const bodyparts = triples.map((c) => c[c.length - 2]!);
  const individuals = triples.map((c) => (levels === 4 ? c[1]! : ''));
  const uniqueBodyparts = [...new Set(bodyparts)];
  const uniqueIndividuals = [...new Set(individuals)];
  // map2bp: the bodypart's place among the unique names; map2id: the individual's place (in column order)
  return colorBy === 'bodypart'
    ? { names: uniqueBodyparts, index: bodyparts.map((b) => uniqueBodyparts.indexOf(b)), bodyparts, individuals }
    : { names: uniqueIndividuals, index: individuals.map((i) => uniqueIndividuals.indexOf(i)), bodyparts, individuals };
}

/** (x1, y1) of the crop the video was analysed with, from its _meta.pickle (keypoints are in cropped coordinates). */
export function analysisOffset(metaPath: string): [number, number] {
  if (!existsSync(metaPath)) return [0, 0];
  try {
    const data = (unpickle(readFileSync(metaPath)) as Map<string, Map<string, unknown>>).get('data');
    const crop = data?.get('cropping_parameters');
    if (data?.get('cropping') === true && Array.isArray(crop)) return [Number(crop[0]) || 0, Number(crop[2]) || 0];
  } catch {
    // A meta file that cannot be read does not stop the video: keypoints are then drawn as they are.
  }
  return [0, 0];
}

/** Draws `h5`'s keypoints (and `fullPath`'s boxes, when it has them) on the video into `out`; returns the frames written. */
export async function createLabeledVideo(info: VideoInfo, h5: string, metaPath: string, out: string, o: LabeledVideoOptions, fullPath?: string): Promise<number> {
  const table = await openFrameH5(h5, 'df_with_missing');
  const temp = partialPath(out);
  let reader: FrameReader | null = null;
  let encoder: VideoEncoder | null = null;
  try {
    const coords = table.columns.map((c) => c[c.length - 1]);
    if (table.columns.length % 3 || coords.some((c, i) => c !== ['x', 'y', 'likelihood'][i % 3]))
      throw new VideoError(h5, 'columns are not (x, y, likelihood) per bodypart: not a DeepLabCut result');
    const levels = table.levelNames.length;
    if (levels !== 3 && levels !== 4) throw new VideoError(h5, `has ${levels} column levels (${table.levelNames.join(', ')}): expected scorer / [individuals] / bodyparts / coords`);
    const { names, index, bodyparts } = columnColors(table.columns, levels, o.colorBy ?? 'bodypart');
    // DeepLabCut's get_segment_indices: the i-th column of bodypart a joined to the i-th of b, so each
    // individual's skeleton joins its own bodyparts.
    const skeleton = o.skeletonNames.flatMap(([a, b]): [number, number][] => {
      const ia = bodyparts.flatMap((bp, k) => (bp === a ? [k] : []));
      const ib = bodyparts.flatMap((bp, k) => (bp === b ? [k] : []));
      if (!ia.length || !ib.length) throw new VideoError(h5, `skeleton segment ${a}-${b}: no bodypart '${ia.length ? b : a}' in the results (${[...new Set(bodyparts)].join(', ')})`);
      return ia.slice(0, ib.length).map((k, i) => [k, ib[i]!]);
    });
    const palette = o.colorsFor(names.length);
    const style: DrawStyle = { ...o, colors: index.map((i) => palette[i]!), skeleton };
    const [dx, dy] = analysisOffset(metaPath);
    // DeepLabCut's keypoints-only video (create_video_with_keypoints_only) draws no boxes.
    const boxes = o.plotBoxes === false || o.keypointsOnly || !fullPath ? null : readBoxes(fullPath);
    const frames = Math.min(table.rowCount, info.frames > 0 ? info.frames : table.rowCount);
    reader = new FrameReader(info, { maxFrames: frames, prefetch: 8 });
    encoder = new VideoEncoder(temp, info.width, info.height, o.outputFps ?? info.fps);
    const progress = new VideoProgress(out, frames, o.progress);
    const width = table.columns.length;
    let rows: Float64Array<ArrayBufferLike> = new Float64Array(0);
    let rowsStart = 0;
    let done = 0;
    while (done < frames) {
      const [frame] = await reader.read(1);
      if (!frame) break;
      if (done >= rowsStart + rows.length / width) {
        rowsStart = done;
        rows = table.rows(done, done + ROWS);
      }
      const image = o.keypointsOnly ? { width: frame.width, height: frame.height, data: new Uint8Array(frame.data.length) } : frame;
      const b = boxes?.[done];
      if (b) drawBoxes(image, b.boxes, b.scores, o.boxCutoff ?? 0.6, BOX_COLOR, dx, dy);
      drawPoses(image, rows.subarray((done - rowsStart) * width, (done - rowsStart + 1) * width), style, dx, dy);
      await encoder.write(image);
      done++;
      progress.update(done);
    }
    progress.end(done);
    await encoder.close();
    encoder = null;
    if (done === 0) throw new VideoError(info.path, 'no frame could be decoded');
    renameSync(temp, out);
    return done;
  } finally {
    table.close();
    reader?.close();
    if (encoder) encoder.abort();
    rmSync(temp, { force: true });
  }
}
