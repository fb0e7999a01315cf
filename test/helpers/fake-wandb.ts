// A fake Weights & Biases API on a local port (GraphQL upsertBucket and file_stream), and a dead URL.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  auth: string | undefined;
  body: any;
}

/** A fake W&B API: answers upsertBucket for entity `ent` (or with `graphqlErrors`), and file_stream posts. */
export async function fakeWandb(graphqlErrors = false): Promise<{ url: string; requests: Received[]; server: Server }> {
  const requests: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const body = JSON.parse(text);
      requests.push({ path: req.url ?? '', auth: req.headers.authorization, body });
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/graphql') {
        if (graphqlErrors) return res.end(JSON.stringify({ errors: [{ message: 'permission denied' }] }));
        const v = body.variables;
        return res.end(JSON.stringify({ data: { upsertBucket: { bucket: { id: 'X', name: v.name, displayName: v.displayName, project: { id: 'P', name: v.project, entity: { id: 'E', name: 'ent' } } }, inserted: true } } }));
      }
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

/** A URL nothing listens on (a port just released). */
export async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}
