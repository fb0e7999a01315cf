// DeepLabCut's create_labeled_video (fast mode) for one analysed video: frames decoded by ffmpeg, the .h5's
// keypoints drawn on each (or on black with keypointsOnly), encoded by a second ffmpeg into
// <h5 name>_p<pcutoff>_labeled.mp4. Frames and rows stream through (a slice of the table at a time), so
// memory is flat for any length; the output is written under a partial name and renamed when complete.
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { openFrameH5 } from '../io/hdf5-dataframe.ts';
import { unpickle } from '../io/pickle.ts';
import type { DrawStyle } from './draw-poses.ts';
import { drawPoses } from './draw-poses.ts';
import { VideoEncoder } from './encoder.ts';
import { VideoError, type VideoInfo } from './ffmpeg.ts';
import { FrameReader } from './frame-reader.ts';
import { partialPath } from './outputs.ts';
import type { ProgressOut } from './progress.ts';
import { VideoProgress } from './progress.ts';

export interface LabeledVideoOptions extends Omit<DrawStyle, 'colors'> {
  /** One colour per bodypart of the .h5, in column order. */
  colorsFor: (bodyparts: string[]) => DrawStyle['colors'];
  /** Bodypart-name pairs to connect (config.yaml's skeleton). */
  skeletonNames: readonly (readonly [string, string])[];
  keypointsOnly: boolean;
  outputFps?: number;
  progress?: ProgressOut;
}

const ROWS = 256; // table rows read per slice

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

export async function createLabeledVideo(info: VideoInfo, h5: string, metaPath: string, out: string, o: LabeledVideoOptions): Promise<number> {
  const table = await openFrameH5(h5, 'df_with_missing');
  const temp = partialPath(out);
  let reader: FrameReader | null = null;
  let encoder: VideoEncoder | null = null;
  try {
    const coords = table.columns.map((c) => c[c.length - 1]);
    const bodyparts = table.columns.filter((_, i) => i % 3 === 0).map((c) => c[c.length - 2]!);
    if (table.columns.length % 3 || coords.some((c, i) => c !== ['x', 'y', 'likelihood'][i % 3]))
      throw new VideoError(h5, 'columns are not (x, y, likelihood) per bodypart: not a DeepLabCut result');
    if (table.levelNames.length !== 3) throw new VideoError(h5, `has ${table.levelNames.length} column levels (${table.levelNames.join(', ')}): multi-animal results are not supported yet`);
    const skeleton = o.skeletonNames.map(([a, b]): [number, number] => {
      const ia = bodyparts.indexOf(a);
      const ib = bodyparts.indexOf(b);
      if (ia < 0 || ib < 0) throw new VideoError(h5, `skeleton segment ${a}-${b}: no bodypart '${ia < 0 ? a : b}' in the results (${bodyparts.join(', ')})`);
      return [ia, ib];
    });
    const style: DrawStyle = { ...o, colors: o.colorsFor(bodyparts), skeleton };
    const [dx, dy] = analysisOffset(metaPath);
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
