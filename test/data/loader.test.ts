import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.ts';
import { AugmentationPipeline, openProjectData, PoseLoader } from '../../src/data/index.ts';
import { ImageError, readImage } from '../../src/io/image.ts';
import { useGpu } from '../helpers/gpu.ts';
import { HAS_OPENFIELD, OPENFIELD } from '../project/openfield.ts';
import { dotImage, syntheticProject } from './synthetic.ts';

const engine = useGpu();

describe.skipIf(!HAS_OPENFIELD)('openfield with the default resnet_50 augmentation', () => {
  const data = HAS_OPENFIELD ? openProjectData(join(OPENFIELD, 'config.yaml')) : undefined!;

  it('runs a whole epoch: fixed-size batches, visible keypoints inside the crop', async () => {
    expect(data.config.net_type).toBe('resnet_50');
    expect(data.train.length).toBe(110);
    expect(data.test.length).toBe(6);
    const loader = new PoseLoader(data.train, new AugmentationPipeline(data.config.data.train), { batchSize: 8, seed: data.config.train_settings.seed });
    expect(loader.length).toBe(14);
    const seen = new Set<number>();
    let batches = 0;
    const before = engine().stats().liveBuffers;
    for await (const batch of loader.epoch(0)) {
      expect(batch.images.shape).toEqual([batch.batchSize, 3, 448, 448]);
      expect(batch.keypoints.length).toBe(batch.batchSize * 4 * 3);
      for (let i = 0; i < batch.keypoints.length; i += 3) {
        if (batch.keypoints[i + 2]! > 0) {
          expect(batch.keypoints[i]!).toBeGreaterThanOrEqual(0);
          expect(batch.keypoints[i]!).toBeLessThan(448);
          expect(batch.keypoints[i + 1]!).toBeGreaterThanOrEqual(0);
          expect(batch.keypoints[i + 1]!).toBeLessThan(448);
        }
      }
      for (const item of batch.items) seen.add(item.imageId);
      if (batches === 0) {
        const values = await batch.images.toArray();
        expect(values.every(Number.isFinite)).toBe(true);
      }
      batch.dispose();
      batches++;
    }
    expect(batches).toBe(14);
    expect([...seen].sort((a, b) => a - b)).toEqual(data.split.train);
    expect(engine().stats().liveBuffers).toBe(before);
  });

  it('same seed, same batches (also with decode workers); epochs differ', async () => {
    const pipeline = new AugmentationPipeline(data.config.data.train);
    const first = async (workers: number, seed: number, epoch: number) => {
      const loader = new PoseLoader(data.train, pipeline, { batchSize: 4, seed, workers });
      try {
        for await (const batch of loader.epoch(epoch)) {
          const values = await batch.images.toArray();
          batch.dispose();
          return { values, ids: batch.items.map((i) => i.imageId), keypoints: [...batch.keypoints] };
        }
      } finally {
        await loader.close();
      }
      throw new Error('no batch');
    };
    const a = await first(0, 42, 0);
    const b = await first(2, 42, 0);
    expect(b.ids).toEqual(a.ids);
    expect(b.keypoints).toEqual(a.keypoints);
    expect(Buffer.from(b.values.buffer).equals(Buffer.from(a.values.buffer))).toBe(true);
    const c = await first(0, 42, 1);
    expect(c.ids).not.toEqual(a.ids);
  });

  it('data preview writes samples and a contact sheet', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dlc-gpu-preview-'));
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    let code: number;
    try {
      code = await commands['data']!.run(['preview', join(OPENFIELD, 'config.yaml'), '--n', '3', '--out', out]);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['contact_sheet.png', 'sample_000.png', 'sample_001.png', 'sample_002.png']);
    expect(readImage(join(out, 'sample_000.png')).width).toBe(448);
    const test = mkdtempSync(join(tmpdir(), 'dlc-gpu-preview-'));
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      expect(await commands['data']!.run(['preview', join(OPENFIELD, 'config.yaml'), '--n', '2', '--split', 'test', '--out', test])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(readImage(join(test, 'sample_000.png')).width).toBe(640);
    expect(existsSync(join(test, 'contact_sheet.png'))).toBe(true);
  });
});

describe('bad input', () => {
  const kp: [number, number][] = [[10, 10], [20, 20], [30, 30], [40, 40]];
  it('a missing image or a corrupt PNG fails the batch with the file named', async () => {
    for (const [frame, message] of [
      [{ name: 'missing.png', keypoints: kp }, 'image file does not exist'],
      [{ name: 'corrupt.png', bytes: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 64, 0, 0, 0, 48, 8, 2]), keypoints: kp }, 'corrupt PNG'],
    ] as const) {
      const config = syntheticProject([{ name: 'ok.png', image: dotImage(64, 48, kp), keypoints: kp }, frame], { trainingFraction: 0.5 });
      const data = openProjectData(config);
      const all = new (data.train.constructor as any)({ root: data.project.root, labels: data.labels, indices: [0, 1], bboxMargin: 20 });
      for (const workers of [0, 1]) {
        const loader = new PoseLoader(all, new AugmentationPipeline(data.config.data.inference), { batchSize: 2, seed: 1, workers, shuffle: false });
        const run = async () => {
          for await (const b of loader.epoch(0)) b.dispose();
        };
        await run().then(() => { throw new Error("no failure"); }, (e) => { if (!(e instanceof ImageError)) throw e; });
        await expect(run()).rejects.toThrow(`${frame.name}: ${message}`);
        await loader.close();
      }
    }
  });

  it('rows with every keypoint unlabeled and images smaller than the crop still make batches', async () => {
    const nan: [number, number][] = kp.map(() => [NaN, NaN]);
    const config = syntheticProject([
      { name: 'a.png', image: dotImage(64, 48, kp), keypoints: kp },
      { name: 'b.png', image: dotImage(64, 48, []), keypoints: nan },
    ]);
    const data = openProjectData(config);
    const all = new (data.train.constructor as any)({ root: data.project.root, labels: data.labels, indices: [0, 1], bboxMargin: 20 });
    // Default resnet_50 train pipeline: 448x448 crops of a 64x48 image.
    const loader = new PoseLoader(all, new AugmentationPipeline(data.config.data.train), { batchSize: 2, seed: 3, shuffle: false });
    for await (const batch of loader.epoch(0)) {
      expect(batch.images.shape).toEqual([2, 3, 448, 448]);
      // The unlabeled image has no annotation and no visible keypoint.
      expect(batch.individualIds[1]).toBe(-1);
      for (let k = 0; k < 4; k++) expect(batch.keypoints[(4 + k) * 3 + 2]).toBe(0);
      batch.dispose();
    }
  });
});
