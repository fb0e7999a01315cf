// Frames encoded back to a video by an ffmpeg process reading raw RGB on its stdin (MPEG-4 part 2, the
// codec of DeepLabCut's default fourcc 'mp4v'), with the pipe's backpressure honoured so only a few frames
// are ever in flight.
import { spawn, type ChildProcess } from 'node:child_process';
import type { RgbImage } from '../io/image.ts';
import { FFMPEG, lastLine, VideoError } from './ffmpeg.ts';

export class VideoEncoder {
  private readonly proc: ChildProcess;
  private stderr = '';
  private readonly done: Promise<number | null>;
  private failed: Error | null = null;

  constructor(
    readonly path: string,
    readonly width: number,
    readonly height: number,
    fps: number,
  ) {
    const args = ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps || 30), '-i', 'pipe:0'];
    // Even sizes for 4:2:0 chroma; MP4 by the file name.
    args.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-c:v', 'mpeg4', '-q:v', '3', '-pix_fmt', 'yuv420p', '-f', 'mp4', path);
    this.proc = spawn(FFMPEG, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.proc.stderr!.on('data', (c: Buffer) => {
      if (this.stderr.length < 1 << 16) this.stderr += c.toString('utf8');
    });
    this.proc.stdin!.on('error', (e) => (this.failed ??= new VideoError(path, `encoding failed (${e.message}: ${lastLine(this.stderr)})`)));
    this.done = new Promise((resolve) => {
      this.proc.on('error', (e) => {
        this.failed ??= new VideoError(path, `ffmpeg could not start (${e.message})`);
        resolve(null);
      });
      this.proc.on('close', (code) => resolve(code));
    });
  }

  async write(frame: RgbImage): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.proc.stdin!.write(frame.data)) await new Promise<void>((resolve) => this.proc.stdin!.once('drain', resolve).once('close', resolve));
  }

  async close(): Promise<void> {
    this.proc.stdin!.end();
    const code = await this.done;
    if (this.failed) throw this.failed;
    if (code !== 0) throw new VideoError(this.path, `encoding failed (ffmpeg exit ${code}: ${lastLine(this.stderr)})`);
  }

  abort(): void {
    this.proc.kill('SIGKILL');
  }
}
