// A fake Weights & Biases API on a local port (GraphQL upsertBucket and file_stream), and a dead URL.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  auth: string | undefined;
  body: any;
}

/**
 * A fake W&B API: answers upsertBucket for entity `ent` (or with `graphqlErrors`), createRunFiles with
 * upload URLs on itself (PUT bodies land in `uploads`, by file name), and file_stream posts.
 */
export async function fakeWandb(graphqlErrors = false): Promise<{ url: string; requests: Received[]; uploads: Map<string, { body: Buffer; headers: IncomingMessage['headers'] }>; server: Server }> {
  const requests: Received[] = [];
  const uploads = new Map<string, { body: Buffer; headers: IncomingMessage['headers'] }>();
  let url = '';
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      // A media file PUT to the upload URL createRunFiles gave.
      if (req.method === 'PUT') {
        uploads.set(decodeURIComponent((req.url ?? '').replace(/^\/upload\//, '')), { body: raw, headers: req.headers });
        return res.end();
      }
      const body = JSON.parse(raw.toString('utf8'));
      requests.push({ path: req.url ?? '', auth: req.headers.authorization, body });
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/graphql') {
        if (graphqlErrors) return res.end(JSON.stringify({ errors: [{ message: 'permission denied' }] }));
        const v = body.variables;
        if (String(body.query).includes('createRunFiles')) {
          const files = (v.files as string[]).map((name) => ({ name, uploadUrl: `${url}/upload/${encodeURIComponent(name)}` }));
          return res.end(JSON.stringify({ data: { createRunFiles: { runID: 'X', uploadHeaders: ['Content-Type:image/png'], files } } }));
        }
        return res.end(JSON.stringify({ data: { upsertBucket: { bucket: { id: 'X', name: v.name, displayName: v.displayName, project: { id: 'P', name: v.project, entity: { id: 'E', name: 'ent' } } }, inserted: true } } }));
      }
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, uploads, server };
}

/** A URL nothing listens on (a port just released). */
export async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}
