// The system's ffmpeg and ffprobe (scripts/setup.sh installs Debian's): frame size, rate and count from
// the container, as DeepLabCut's VideoReader takes them from OpenCV (CAP_PROP_FRAME_COUNT is the
// container's frame count; DeepLabCut warns when the decoded count differs).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

export class VideoError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'VideoError';
  }
}

/** DLC_GPU_FFMPEG / DLC_GPU_FFPROBE override the binaries found on PATH. */
export const FFMPEG = process.env.DLC_GPU_FFMPEG || 'ffmpeg';
export const FFPROBE = process.env.DLC_GPU_FFPROBE || 'ffprobe';

let checked: string | null = null;
/** Fails with what to install when ffmpeg is not there (once per process). */
export function requireFfmpeg(): void {
  if (checked === 'ok') return;
  for (const bin of [FFMPEG, FFPROBE]) {
    const r = spawnSync(bin, ['-version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      throw new Error(`${bin} is not available (${r.error ? (r.error as NodeJS.ErrnoException).code : `exit ${r.status}`}): install ffmpeg ('apt-get install ffmpeg', or run scripts/setup.sh)`);
    }
  }
  checked = 'ok';
}

export interface VideoInfo {
  path: string;
  width: number;
  height: number;
  /** Frames per second (the stream's average rate). */
  fps: number;
  /** Frames the container says it holds (0 when it does not say and has no duration). */
  frames: number;
  codec: string;
}

function rate(text: string | undefined): number {
  if (!text) return 0;
  const [n, d] = text.split('/').map(Number) as [number, number | undefined];
  const v = d === undefined ? n : d ? n / d : 0;
  return Number.isFinite(v) ? v : 0;
}

/** The stderr line that says why ffmpeg/ffprobe gave up. */
export function lastLine(stderr: string): string {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? 'no message';
}

/** Reads a video's first video stream's size, rate and frame count, or fails naming the file and why. */
export function probeVideo(path: string): VideoInfo {
  if (!existsSync(path)) throw new VideoError(path, 'does not exist');
  if (!statSync(path).isFile()) throw new VideoError(path, 'is not a file');
  if (statSync(path).size === 0) throw new VideoError(path, 'is empty');
  requireFfmpeg();
  const r = spawnSync(
    FFPROBE,
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames,duration:format=duration', '-of', 'json', path],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0) throw new VideoError(path, `cannot be read as a video (ffprobe: ${lastLine(r.stderr)})`);
  let doc: { streams?: Record<string, string | number>[]; format?: { duration?: string } };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new VideoError(path, 'ffprobe gave no readable description');
  }
  const s = doc.streams?.[0];
  if (!s) throw new VideoError(path, 'has no video stream');
  const width = Number(s.width);
  const height = Number(s.height);
  if (!(width > 0 && height > 0)) throw new VideoError(path, 'the video stream has no frame size (damaged header?)');
  const fps = rate(String(s.avg_frame_rate ?? '')) || rate(String(s.r_frame_rate ?? ''));
  let frames = Number(s.nb_frames);
  if (!Number.isInteger(frames) || frames <= 0) {
    const duration = Number(s.duration ?? doc.format?.duration);
    frames = Number.isFinite(duration) && fps > 0 ? Math.round(duration * fps) : 0;
  }
  return { path, width, height, fps, frames, codec: String(s.codec_name ?? '?') };
}
