// Data pipeline throughput on the openfield project with the default resnet_50 train augmentation
// (affine, 448x448 crop sampling, motion blur, Gaussian noise, ImageNet normalisation), batch 8:
// images/s for decode + augment + collate (inline decode and 2 decode workers), the same without decode
// (images cached in memory), PNG decode alone, and the GPU augmentation time per batch.
// Run: npx tsx bench/data.ts   (writes bench/results/data.json)
import { join } from 'node:path';
import { AugmentationPipeline, openProjectData, PoseLoader, sampleSeed } from '../src/data/index.ts';
import { engine, init } from '../src/index.ts';
import { readImage } from '../src/io/image.ts';
import { printTable, timeGpu, writeResults, type Row } from './lib/harness.ts';

const OPENFIELD = join(import.meta.dirname, '../../shared/datasets/openfield-Pranav-2018-10-30/config.yaml');
const BATCH = 8;

await init({ device: 'auto' });
const info = engine().adapter.info;
const device = `${info.vendor} ${info.architecture} ${info.description}`.trim();

async function epochRate(label: string, options: { workers: number; cache: boolean }): Promise<Row> {
  const data = openProjectData(OPENFIELD, { cacheImages: options.cache });
  const pipeline = new AugmentationPipeline(data.config.data.train);
  const loader = new PoseLoader(data.train, pipeline, { batchSize: BATCH, seed: 42, workers: options.workers });
  if (options.cache) for (let i = 0; i < data.train.length; i++) data.train.loadImage(i);
  // Warm-up epoch (pipeline compiles, worker start, buffer pool).
  for await (const b of loader.epoch(100)) {
    await engine().sync();
    b.dispose();
  }
  const times: number[] = [];
  let images = 0;
  for (let e = 0; e < 2; e++) {
    const t0 = performance.now();
    for await (const b of loader.epoch(e)) {
      await engine().sync(); // the batch is ready on the GPU, as a training step would need it
      images += b.batchSize;
      b.dispose();
    }
    times.push(performance.now() - t0);
  }
  await loader.close();
  const ms = times.reduce((a, b) => a + b, 0);
  return { pipeline: label, images, 'ms/batch': +((ms / images) * BATCH).toFixed(1), 'images/s': +((images / ms) * 1000).toFixed(1) };
}

const rows: Row[] = [];
rows.push(await epochRate('decode inline (workers 0) + augment + collate', { workers: 0, cache: false }));
rows.push(await epochRate('decode on 2 workers + augment + collate', { workers: 2, cache: false }));
rows.push(await epochRate('cached images: augment + collate only', { workers: 0, cache: true }));

// PNG decode alone.
const data = openProjectData(OPENFIELD);
const paths = Array.from({ length: 16 }, (_, i) => data.train.imagePath(i));
readImage(paths[0]!);
const t0 = performance.now();
for (const p of paths) readImage(p);
const decodeMs = (performance.now() - t0) / paths.length;
rows.push({ pipeline: 'PNG decode alone (640x480, main thread)', images: paths.length, 'ms/batch': +(decodeMs * BATCH).toFixed(1), 'images/s': +(1000 / decodeMs).toFixed(1) });

// GPU augmentation of one batch (upload + warp + photometric), images already decoded.
const pipeline = new AugmentationPipeline(data.config.data.train);
const ids = Array.from({ length: BATCH }, (_, i) => i);
const samples = ids.map((i) => data.train.sample(i));
const images = ids.map((i) => data.train.loadImage(i));
let round = 0;
const gpu = await timeGpu('augment batch', () => {
  round++;
  return pipeline.run(samples, images, samples.map((s) => sampleSeed(42, round, s.imageId)));
}, { warmup: 3, runs: 15 });
const planT0 = performance.now();
for (let r = 0; r < 50; r++) samples.forEach((s) => pipeline.plan(s, sampleSeed(42, r, s.imageId)));
const planMs = (performance.now() - planT0) / 50;
rows.push({ pipeline: 'GPU augmentation per batch (upload + warp + photometric)', images: BATCH, 'ms/batch': +gpu.medianMs.toFixed(1), 'images/s': +((BATCH / gpu.medianMs) * 1000).toFixed(1) });
rows.push({ pipeline: 'CPU planning per batch (random draws, matrices, keypoints)', images: BATCH, 'ms/batch': +planMs.toFixed(3), 'images/s': null });

printTable(rows, `data pipeline, openfield train split, batch ${BATCH}, 448x448 crops, ${device}`);
const file = writeResults('data', { device, batchSize: BATCH, crop: [448, 448], rows, gpuAugmentMs: gpu });
console.log(`wrote ${file}`);
