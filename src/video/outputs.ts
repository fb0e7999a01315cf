// DeepLabCut's file names for a video's results (apis/videos.py, utils/make_labeled_video.py):
// <video stem><scorer>.h5 / .csv / _meta.pickle next to the video or in destfolder, and the labeled
// video <h5 name without .h5>_p<int(100 * pcutoff)>_labeled.mp4 beside the .h5.
import { basename, dirname, extname, join } from 'node:path';

export interface VideoOutputs {
  prefix: string;
  h5: string;
  csv: string;
  meta: string;
  /** Per-frame predictions (and a top-down model's boxes), DeepLabCut's <prefix>_full.pickle. */
  full: string;
  /** Multi-animal projects: <prefix>_assemblies.pickle. */
  assemblies: string;
}

export function videoOutputs(video: string, scorer: string, destfolder?: string): VideoOutputs {
  const stem = basename(video, extname(video));
  const dir = destfolder ?? dirname(video);
  const prefix = `${stem}${scorer}`;
  return { prefix, h5: join(dir, `${prefix}.h5`), csv: join(dir, `${prefix}.csv`), meta: join(dir, `${prefix}_meta.pickle`), full: join(dir, `${prefix}_full.pickle`), assemblies: join(dir, `${prefix}_assemblies.pickle`) };
}

/**
 * Python's int(100 * pcutoff) truncates (0.29 -> 28), as the name DeepLabCut writes does. Multi-animal
 * projects' names say how the keypoints are coloured: `_bp` (by bodypart) or `_id` (by individual).
 */
export function labeledVideoPath(h5: string, pcutoff: number, colorBy?: 'bodypart' | 'individual'): string {
  const s = colorBy === undefined ? '' : colorBy === 'individual' ? '_id' : '_bp';
  return h5.replace(/\.h5$/, `${s}_p${Math.trunc(100 * pcutoff)}_labeled.mp4`);
}

/** A name for a file being written, renamed to `path` when complete. */
export function partialPath(path: string): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.partial-${process.pid}${ext}`);
}

/** DeepLabCut's video types (auxfun_videos.SUPPORTED_VIDEOS), used when a folder is given without --videotype. */
export const SUPPORTED_VIDEOS = ['avi', 'mp4', 'mov', 'mpeg', 'mpg', 'mpv', 'mkv', 'flv', 'qt', 'yuv'];
