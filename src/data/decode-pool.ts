// Image decoding off the main thread: a small pool of worker_threads (Node only). Workers load the
// TypeScript decoder through tsx's API (decode-worker.mjs), so this works from `npx tsx`, the CLI and vitest alike.
import { Worker } from 'node:worker_threads';
import { ImageError, type RgbImage } from '../io/image.ts';

interface Pending {
  path: string;
  resolve: (img: RgbImage) => void;
  reject: (err: Error) => void;
}

export class DecodePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[] = [];
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./decode-worker.mjs', import.meta.url));
      w.on('message', (msg: { id: number; width?: number; height?: number; data?: Uint8Array; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (--this.load[i]! === 0) w.unref(); // idle workers do not keep the process alive
        if (msg.error !== undefined) p.reject(new ImageError(p.path, msg.error.startsWith(`${p.path}: `) ? msg.error.slice(p.path.length + 2) : msg.error));
        else p.resolve({ width: msg.width!, height: msg.height!, data: new Uint8Array(msg.data!.buffer, msg.data!.byteOffset, msg.data!.byteLength) });
      });
      w.on('error', (err) => this.failAll(err));
      w.unref();
      this.workers.push(w);
      this.load.push(0);
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(new Error(`image decode worker failed: ${err.message}`));
    this.pending.clear();
  }

  decode(path: string): Promise<RgbImage> {
    if (this.closed) return Promise.reject(new Error('decode pool is closed'));
    const id = this.nextId++;
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    if (this.load[best]!++ === 0) this.workers[best]!.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { path, resolve, reject });
      this.workers[best]!.postMessage({ id, path });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll(new Error('closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
