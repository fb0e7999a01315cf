// What to tell a user whose training hit the device's limits: what ran out, and which settings to lower.
import { GpuError } from '../gpu/engine.ts';
import { CliError } from './cli-error.ts';

interface TrainingSettings {
  train_settings: { batch_size: number };
  data?: { train?: { crop_sampling?: { width?: number; height?: number } | null; resize?: unknown } };
}

/** A CliError (exit 1) for device memory and device loss; other errors are returned as they are. */
export function gpuAdvice(err: unknown, config: TrainingSettings | null, written: readonly string[] = []): unknown {
  if (!(err instanceof GpuError) || err.kind === 'other') return err;
  const kept = written.length ? ` Snapshots written so far are intact (last: ${written[written.length - 1]}).` : '';
  if (err.kind === 'lost') return new CliError(`the GPU device was lost: ${err.message}. This happens after a driver reset or when the device runs out of memory; try a smaller batch or crop.${kept}`, 1);
  const batch = config?.train_settings.batch_size;
  const crop = config?.data?.train?.crop_sampling;
  const cropText = crop?.width && crop?.height ? ` (now ${crop.width}x${crop.height})` : '';
  return new CliError(
    `${err.message}.\nThe model and batch do not fit this device: reduce train_settings.batch_size` +
      `${batch ? ` (now ${batch}; --batch-size)` : ''} or the crop size, data.train.crop_sampling width/height${cropText}.${kept}`,
    1,
  );
}
