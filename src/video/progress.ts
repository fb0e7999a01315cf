// Progress of a video: on a terminal a bar redrawn in place (frames, frames/s, ETA); otherwise a plain
// line at every tenth of the video (or every 500 frames when the length is unknown), so logs stay short.
export interface ProgressOut {
  write(s: string): unknown;
  isTTY?: boolean;
}

function clock(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const mm = String(Math.floor((t % 3600) / 60)).padStart(2, '0');
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class VideoProgress {
  private readonly start = performance.now();
  private lastDraw = 0;
  private lastStep = 0;
  private shown = false;

  constructor(
    private readonly name: string,
    private readonly total: number,
    private readonly out: ProgressOut = process.stdout,
    private readonly tty = !!out.isTTY,
  ) {}

  line(done: number): string {
    const s = (performance.now() - this.start) / 1000;
    const rate = s > 0 ? done / s : 0;
    const eta = this.total > 0 && rate > 0 ? (this.total - done) / rate : NaN;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const bar = this.total > 0 ? ` [${'#'.repeat(Math.round(frac * 24)).padEnd(24, '-')}]` : '';
    return `${this.name}${bar} ${done}${this.total > 0 ? `/${this.total}` : ''} frames ${rate.toFixed(1)} frames/s ETA ${clock(eta)}`;
  }

  update(done: number): void {
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastDraw < 200) return;
      this.lastDraw = now;
      this.out.write(`\r${this.line(done)}\x1b[K`);
      this.shown = true;
      return;
    }
    const step = this.total > 0 ? Math.floor((10 * done) / this.total) : Math.floor(done / 500);
    if (step > this.lastStep) {
      this.lastStep = step;
      this.out.write(`${this.line(done)}\n`);
    }
  }

  end(done: number): void {
    if (this.tty) this.out.write(`\r${this.line(done)}\x1b[K\n`);
    else if (!this.shown && done > 0 && this.lastStep < (this.total > 0 ? 10 : Infinity)) this.out.write(`${this.line(done)}\n`);
  }
}
