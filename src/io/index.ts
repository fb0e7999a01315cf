// Weight files: PyTorch's torch.save format and safetensors, read into and written from HostTensors.
// The byte-level functions (parse*/serialize*) are pure and browser-safe; the path-based wrappers here
// are the only code that touches the file system. Writes are atomic: a temporary file next to the target,
// fsync'd, then renamed over it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTorchFile, serializeTorchFileChunks, type ReadTorchOptions, type WriteTorchOptions } from './torch-file.ts';
import { parseSafetensors, serializeSafetensors, type SafetensorsContents } from './safetensors.ts';
import type { HostTensor } from './host-tensor.ts';

export * from './host-tensor.ts';
export * from './py-values.ts';
export { PickleObject, unpickle, numpyResolver } from './pickle.ts';
export { pickle, PickleWriteError } from './pickle-writer.ts';
export { parseTorchFile, serializeTorchFileChunks, sniffWeightsFile, TorchFileError, STORAGE_DTYPES } from './torch-file.ts';
export type { ReadTorchOptions, WriteTorchOptions } from './torch-file.ts';
export { parseSafetensors, serializeSafetensors, SafetensorsError } from './safetensors.ts';
export type { SafetensorsContents } from './safetensors.ts';
export { ZipReader, ZipError, writeZip, writeZipChunks, crc32, concatBytes } from './zip.ts';
export type { ZipEntry, ReadZipOptions, ZipWriteEntry, WriteZipOptions } from './zip.ts';
export type { GlobalResolver, PickleCallable, PickleOptions } from './pickle.ts';
export type { PickleWriteOptions } from './pickle-writer.ts';

function readBytes(file: string): Uint8Array {
  const buf = fs.readFileSync(file);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Writes the chunks to `file` atomically (temporary file in the same folder, fsync, rename). */
export function writeFileAtomic(file: string, chunks: readonly Uint8Array[]): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    for (const c of chunks) {
      let done = 0;
      while (done < c.length) done += fs.writeSync(fd, c, done, c.length - done);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Reads a torch.save (.pt/.pth) file: a path, or its bytes. */
export function readTorchFile(source: string | Uint8Array, options: ReadTorchOptions = {}): unknown {
  if (typeof source === 'string') return parseTorchFile(readBytes(source), { name: source, ...options });
  return parseTorchFile(source, options);
}

/** Writes `value` as a torch.save file that torch.load reads. */
export function writeTorchFile(file: string, value: unknown, options: WriteTorchOptions = {}): void {
  const chunks = serializeTorchFileChunks(value, options);
  writeFileAtomic(file, chunks);
}

/** Reads a .safetensors file: a path, or its bytes. */
export function readSafetensors(source: string | Uint8Array, options: { name?: string } = {}): SafetensorsContents {
  if (typeof source === 'string') return parseSafetensors(readBytes(source), { name: source, ...options });
  return parseSafetensors(source, options);
}

/** Writes tensors (and optional string metadata) as a .safetensors file. */
export function writeSafetensors(
  file: string,
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata?: Record<string, string> | null,
): void {
  writeFileAtomic(file, [serializeSafetensors(tensors, metadata)]);
}
