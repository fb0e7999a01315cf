// DeepLabCut's file names for a video's results (apis/videos.py, utils/make_labeled_video.py):
// <video stem><scorer>.h5 / .csv / _meta.pickle next to the video or in destfolder, and the labeled
// video <h5 name without .h5>_p<int(100 * pcutoff)>_labeled.mp4 beside the .h5.
import { basename, dirname, extname, join } from 'node:path';

export interface VideoOutputs {
  prefix: string;
  h5: string;
  csv: string;
  meta: string;
}

export function videoOutputs(video: string, scorer: string, destfolder?: string): VideoOutputs {
  const stem = basename(video, extname(video));
  const dir = destfolder ?? dirname(video);
  const prefix = `${stem}${scorer}`;
  return { prefix, h5: join(dir, `${prefix}.h5`), csv: join(dir, `${prefix}.csv`), meta: join(dir, `${prefix}_meta.pickle`) };
}

/** Python's int(100 * pcutoff) truncates (0.29 -> 28), as the name DeepLabCut writes does. */
export function labeledVideoPath(h5: string, pcutoff: number): string {
  return h5.replace(/\.h5$/, `_p${Math.trunc(100 * pcutoff)}_labeled.mp4`);
}

/** A name for a file being written, renamed to `path` when complete. */
export function partialPath(path: string): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.partial-${process.pid}${ext}`);
}

/** DeepLabCut's video types (auxfun_videos.SUPPORTED_VIDEOS), used when a folder is given without --videotype. */
export const SUPPORTED_VIDEOS = ['avi', 'mp4', 'mov', 'mpeg', 'mpg', 'mpv', 'mkv', 'flv', 'qt', 'yuv'];
