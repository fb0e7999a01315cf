// A batch too large for the device: the engine refuses the tensor before any GPU work, and `train` exits 1
// saying what to lower (batch size, crop size) instead of a stack trace.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuError, Tensor } from '../../src/index.ts';
import { useGpu } from '../helpers/gpu.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { cleanup, cli, copyProject, TINY_SETS } from './helpers.ts';

const gpu = useGpu();
afterAll(cleanup);

describe('device memory limits', () => {
  it('refuses a tensor larger than the largest buffer binding as a memory error', () => {
    const limit = Math.min(gpu().limits.maxStorageBufferBindingSize, gpu().limits.maxBufferSize);
    const n = Math.floor(limit / 4) + 1024;
    let err: unknown;
    try {
      Tensor.empty([n]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GpuError);
    expect((err as GpuError).kind).toBe('memory');
    expect((err as Error).message).toMatch(/out of memory: a tensor of \d+ MiB is larger than this device's largest buffer binding/);
  });
});

describe.skipIf(!HAS_OPENFIELD)('dlc-gpu train on a batch that does not fit', () => {
  it('exits 1 naming the batch size and crop size to reduce', (ctx) => {
    // One more 448x448 crop than the device's largest binding holds (55 on lavapipe's 128 MiB).
    const limit = Math.min(gpu().limits.maxStorageBufferBindingSize, gpu().limits.maxBufferSize);
    const batch = Math.floor(limit / (3 * 448 * 448 * 4)) + 1;
    if (batch > 200) ctx.skip(); // a device with GiB-sized bindings: the decoded batch alone would swamp the host
    const dir = copyProject();
    expect(cli('create-dataset', join(dir, 'config.yaml')).code).toBe(0);
    const r = cli('train', join(dir, 'config.yaml'), '--epochs', '1', '--steps-per-epoch', '1', '--batch-size', String(batch), ...TINY_SETS,
      '--set', 'data.train.crop_sampling.width=448', '--set', 'data.train.crop_sampling.height=448');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`\nThe model and batch do not fit this device: reduce train_settings.batch_size (now ${batch}; --batch-size) or the crop size, data.train.crop_sampling width/height (now 448x448)`);
    expect(r.stderr).toMatch(/out of memory: a tensor of \d+ MiB is larger than this device's largest buffer binding/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
