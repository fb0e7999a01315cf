// Batches for training: seeded shuffled epochs, decoding ahead of the consumer (inline, or on worker
// threads when dataloader_workers > 0), a bounded number of batches in flight, GPU augmentation per batch.
import type { RgbImage } from '../io/image.ts';
import type { PoseDataset } from './dataset.ts';
import { DecodePool } from './decode-pool.ts';
import type { AugmentationPipeline, Batch } from './pipeline.ts';
import { hash32, Rng } from './random.ts';

export interface LoaderOptions {
  batchSize: number;
  /** train_settings.seed: fixes the order of every epoch and every augmentation. */
  seed: number;
  shuffle?: boolean;
  /** Drop a last incomplete batch (PyTorch's default is to keep it). */
  dropLast?: boolean;
  /** dataloader_workers: 0 decodes on the main thread between GPU waits; N > 0 uses N worker threads. */
  workers?: number;
  /** Batches whose images are decoded ahead of the one being consumed (default 2). */
  prefetch?: number;
}

/**
 * The seed of one item's augmentation: independent of batch composition, order of decoding and workers. Top-down
 * items of one image differ by their annotation slot.
 */
export function sampleSeed(seed: number, epoch: number, imageId: number, annotation?: number): number {
  return annotation === undefined ? hash32(seed, epoch, imageId, 0x41554721) : hash32(seed, epoch, imageId, 0x41554721, annotation);
}

export class PoseLoader {
  private pool: DecodePool | null = null;
  readonly batchSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly workers: number;
  readonly prefetch: number;

  constructor(
    readonly dataset: PoseDataset,
    readonly pipeline: AugmentationPipeline,
    options: LoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error(`batch size must be a positive integer, got ${options.batchSize}`);
    this.batchSize = options.batchSize;
    this.seed = options.seed;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.workers = options.workers ?? 0;
    this.prefetch = Math.max(0, options.prefetch ?? 2);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The item order of an epoch. */
  order(epoch: number): number[] {
    const n = this.dataset.length;
    return this.shuffle ? new Rng(hash32(this.seed, epoch, 0x5eed)).permutation(n) : Array.from({ length: n }, (_, i) => i);
  }

  private decode(i: number): Promise<RgbImage> {
    if (this.workers > 0) {
      this.pool ??= new DecodePool(this.workers);
      return this.pool.decode(this.dataset.imagePath(i)).then((img) => {
        this.dataset.checkSize(i, img);
        return img;
      });
    }
    // Inline: decode in a later macrotask, so decoding overlaps the consumer's GPU waits.
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(this.dataset.loadImage(i));
        } catch (err) {
          reject(err);
        }
      }),
    );
  }

  /** The batches of one epoch. Each batch's `images` tensor belongs to the caller. */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const batches = this.length;
    const used = Math.min(order.length, batches * this.batchSize);
    const decoded: Promise<RgbImage>[] = [];
    let issued = 0;
    const issueUntil = (end: number) => {
      for (; issued < Math.min(end, used); issued++) {
        const p = this.decode(order[issued]!);
        p.catch(() => {}); // awaited later; this only stops an early failure counting as unhandled
        decoded.push(p);
      }
    };
    for (let k = 0; k < batches; k++) {
      const start = k * this.batchSize;
      const end = Math.min(start + this.batchSize, used);
      issueUntil(end + this.prefetch * this.batchSize);
      const ids = order.slice(start, end);
      const images = await Promise.all(decoded.slice(start, end));
      for (let j = start; j < end; j++) decoded[j] = undefined as unknown as Promise<RgbImage>; // release
      const samples = ids.map((i) => this.dataset.sample(i));
      const seeds = samples.map((s) => sampleSeed(this.seed, epoch, s.imageId, s.annotation));
      yield this.pipeline.run(samples, images, seeds);
    }
  }

  /** Stops decode workers (when there are any). */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}
