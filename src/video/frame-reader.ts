// Decoded frames from an ffmpeg process that streams raw RGB (rgb24) on its stdout. ffmpeg decodes in its
// own process, so decoding runs alongside the GPU work; up to `prefetch` frames are kept ready here, and
// the pipe is paused beyond that, so memory stays bounded whatever the video's length.
import { spawn, type ChildProcess } from 'node:child_process';
import type { RgbImage } from '../io/image.ts';
import { FFMPEG, lastLine, requireFfmpeg, VideoError, type VideoInfo } from './ffmpeg.ts';

/** DeepLabCut's cropping [x1, x2, y1, y2]: frame[y1:y2, x1:x2]. */
export type Crop = readonly [number, number, number, number];

export interface FrameReaderOptions {
  crop?: Crop | null;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** Frames decoded ahead of the consumer (default 16). */
  prefetch?: number;
}

/** Checks a crop against the frame size: whole pixels, inside the frame, not empty. */
export function checkCrop(info: VideoInfo, crop: Crop): void {
  const [x1, x2, y1, y2] = crop;
  if (!crop.every((v) => Number.isInteger(v) && v >= 0) || x2 <= x1 || y2 <= y1 || x2 > info.width || y2 > info.height) {
    throw new VideoError(info.path, `cropping [${crop.join(', ')}] (x1, x2, y1, y2) is not inside the ${info.width}x${info.height} frame`);
  }
}

export class FrameReader {
  readonly width: number;
  readonly height: number;
  private readonly frameBytes: number;
  private readonly proc: ChildProcess;
  private readonly ready: Uint8Array[] = [];
  private current: Uint8Array;
  private filled = 0;
  private ended = false;
  private failure: Error | null = null;
  private stderr = '';
  private wake: (() => void) | null = null;
  private readonly prefetch: number;
  /** Frames handed out so far. */
  delivered = 0;

  constructor(
    readonly info: VideoInfo,
    options: FrameReaderOptions = {},
  ) {
    requireFfmpeg();
    const crop = options.crop ?? null;
    if (crop) checkCrop(info, crop);
    this.width = crop ? crop[1] - crop[0] : info.width;
    this.height = crop ? crop[3] - crop[2] : info.height;
    this.frameBytes = this.width * this.height * 3;
    this.prefetch = Math.max(1, options.prefetch ?? 16);
    this.current = new Uint8Array(this.frameBytes);
    const args = ['-v', 'error', '-nostdin', '-i', info.path, '-map', '0:v:0'];
    if (crop) args.push('-vf', `crop=${this.width}:${this.height}:${crop[0]}:${crop[2]}`);
    if (options.maxFrames !== undefined) args.push('-frames:v', String(options.maxFrames));
    // Every decoded frame once, in order (no duplicates or drops to match a frame rate), as OpenCV reads them.
    args.push('-vsync', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
    this.proc = spawn(FFMPEG, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (chunk: Buffer) => this.take(chunk));
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 1 << 16) this.stderr += chunk.toString('utf8');
    });
    this.proc.on('error', (e) => this.finish(new VideoError(info.path, `ffmpeg could not start (${e.message})`)));
    this.proc.on('close', (code, signal) => {
      if (this.killed) return this.finish(null);
      if (code !== 0) return this.finish(new VideoError(info.path, `decoding failed after ${this.delivered + this.ready.length} frames (ffmpeg ${signal ?? `exit ${code}`}: ${lastLine(this.stderr)})`));
      if (this.filled) return this.finish(new VideoError(info.path, `the last frame is incomplete (${this.filled} of ${this.frameBytes} bytes)`));
      this.finish(null);
    });
  }

  private killed = false;

  /** What ffmpeg wrote on stderr (decoding errors it recovered from). */
  get messages(): string {
    return this.stderr.trim();
  }

  private take(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, this.frameBytes - this.filled);
      this.current.set(chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.frameBytes) {
        this.ready.push(this.current);
        this.current = new Uint8Array(this.frameBytes);
        this.filled = 0;
      }
    }
    if (this.ready.length >= this.prefetch) this.proc.stdout!.pause();
    this.notify();
  }

  private finish(err: Error | null): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Up to `n` next frames; fewer only at the end of the video, none after it. Throws a VideoError when decoding fails. */
  async read(n: number): Promise<RgbImage[]> {
    const out: RgbImage[] = [];
    while (out.length < n) {
      if (this.ready.length) {
        out.push({ width: this.width, height: this.height, data: this.ready.shift()! });
        if (this.ready.length < this.prefetch) this.proc.stdout!.resume();
        continue;
      }
      if (this.ended) break;
      this.proc.stdout!.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    this.delivered += out.length;
    if (!out.length && this.failure) throw this.failure;
    return out;
  }

  /** Stops ffmpeg (when the consumer gives up early) and releases the buffered frames. */
  close(): void {
    this.ready.length = 0;
    if (!this.ended) {
      this.killed = true;
      this.proc.kill('SIGKILL');
    }
  }
}
