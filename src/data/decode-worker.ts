// Worker thread: reads and decodes images for the loader (src/data/decode-pool.ts).
import { parentPort } from 'node:worker_threads';
import { readImage } from '../io/image.ts';

parentPort!.on('message', (msg: { id: number; path: string }) => {
  try {
    const img = readImage(msg.path);
    parentPort!.postMessage({ id: msg.id, width: img.width, height: img.height, data: img.data }, [img.data.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
