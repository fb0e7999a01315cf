// `logger: {type: WandbLogger}`: the run's config and per-epoch metrics sent to Weights & Biases over its
// HTTP API, as the wandb client does it (wandb/sdk/internal/internal_api.py upsert_run, file_stream.py):
// a GraphQL `upsertBucket` creates the run with its config, then POST {base}/files/{entity}/{project}/{run}/file_stream
// carries wandb-history.jsonl lines (offset = lines sent before) and wandb-summary.json, and a final
// {"complete": true, "exitcode": n}; images (logger.image_log_interval) go up through createRunFiles first.
// Requests run in the background, one at a time, in order; any failure
// (no key, unreachable, an HTTP or GraphQL error) warns once and turns the logger off, so training and the
// local logs (learning_stats.csv, train.txt) never wait on or depend on W&B.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { LoggedImage } from './image-log.ts';

export interface WandbSettings {
  project_name: string;
  run_name: string;
  wandb_kwargs?: Record<string, unknown>;
  /** Other keys of the logger block are wandb.init arguments too (tags, group, notes, entity, job_type). */
  [key: string]: unknown;
}

export interface WandbEnvironment {
  /** Default: WANDB_BASE_URL, else https://api.wandb.ai. */
  baseUrl?: string;
  /** Default: WANDB_API_KEY, else the ~/.netrc password for the base URL's host. */
  apiKey?: string | null;
  /** Per-request timeout in ms (default 15 s). */
  timeoutMs?: number;
}

const UPSERT_BUCKET = `mutation UpsertBucket(
  $id: String, $name: String, $project: String, $entity: String, $groupName: String, $description: String,
  $displayName: String, $notes: String, $config: JSONString, $jobType: String, $state: String, $tags: [String!]
) {
  upsertBucket(input: {
    id: $id, name: $name, modelName: $project, entityName: $entity, groupName: $groupName, description: $description,
    displayName: $displayName, notes: $notes, config: $config, jobType: $jobType, state: $state, tags: $tags
  }) {
    bucket { id name displayName project { id name entity { id name } } }
    inserted
  }
}`;

// wandb's internal_api upload_urls (clients after 0.15.4).
const CREATE_RUN_FILES = `mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) {
    runID
    uploadHeaders
    files { name uploadUrl }
  }
}`;

/** The password of the ~/.netrc `machine` entry for `host` (what `wandb login` writes). */
export function netrcPassword(host: string, file = join(homedir(), '.netrc')): string | null {
  if (!existsSync(file)) return null;
  const tokens = readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] !== 'machine' || tokens[i + 1] !== host) continue;
    for (let j = i + 2; j < tokens.length && tokens[j] !== 'machine' && tokens[j] !== 'default'; j += 2) {
      if (tokens[j] === 'password') return tokens[j + 1] ?? null;
    }
  }
  return null;
}

/** An 8-character run id of lowercase letters and digits, as wandb's generate_id. */
function runId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 8 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** JSON with non-finite numbers as wandb writes them (NaN, Infinity), which json.dumps accepts; `extra` values as plain JSON. */
function historyJson(row: Record<string, number>, extra: Record<string, unknown> = {}): string {
  const numbers = Object.entries(row).map(([k, v]) => `${JSON.stringify(k)}:${Number.isFinite(v) ? JSON.stringify(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}`);
  const others = Object.entries(extra).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return `{${[...numbers, ...others].join(',')}}`;
}

export class WandbLogger {
  readonly baseUrl: string;
  readonly runId = runId();
  private readonly auth: string | null;
  private readonly timeoutMs: number;
  private queue: Promise<void> = Promise.resolve();
  private stream: string | null = null;
  private off = false;
  private lines = 0;
  private readonly summary: Record<string, number> = {};
  private readonly started = Date.now();
  /** The run's page, once created. */
  url: string | null = null;
  private run: { entity: string; project: string; id: string } | null = null;

  constructor(
    settings: WandbSettings,
    config: Record<string, unknown>,
    private readonly warn: (message: string) => void,
    env: WandbEnvironment = {},
    /** Told the run's page once the run exists. */
    private readonly info: (message: string) => void = () => {},
  ) {
    this.baseUrl = (env.baseUrl ?? process.env.WANDB_BASE_URL ?? 'https://api.wandb.ai').replace(/\/+$/, '');
    this.timeoutMs = env.timeoutMs ?? 15_000;
    let host = '';
    try {
      host = new URL(this.baseUrl).hostname;
    } catch {
      this.disable(`WANDB_BASE_URL '${this.baseUrl}' is not a URL; logging locally only`);
    }
    const key = env.apiKey !== undefined ? env.apiKey : process.env.WANDB_API_KEY || netrcPassword(host);
    this.auth = key ? `Basic ${Buffer.from(`api:${key}`).toString('base64')}` : null;
    if (!this.auth) this.disable('no W&B API key: set WANDB_API_KEY (or run `wandb login`, which writes ~/.netrc); logging locally only');
    if (this.off) return;
    const kw = { ...Object.fromEntries(Object.entries(settings).filter(([k]) => !['type', 'project_name', 'run_name', 'image_log_interval', 'wandb_kwargs'].includes(k))), ...(settings.wandb_kwargs ?? {}) };
    const variables = {
      name: this.runId,
      project: settings.project_name,
      entity: text(kw.entity) ?? process.env.WANDB_ENTITY ?? null,
      displayName: settings.run_name,
      groupName: text(kw.group) ?? null,
      notes: text(kw.notes) ?? null,
      jobType: text(kw.job_type) ?? null,
      tags: strings(kw.tags) ?? null,
      // wandb's config layout: every key as {"desc": null, "value": ...}.
      config: JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { desc: null, value: v }]))),
    };
    this.enqueue(async () => {
      const res = (await this.post(`${this.baseUrl}/graphql`, { query: UPSERT_BUCKET, variables })) as {
        data?: { upsertBucket?: { bucket?: { name?: string; project?: { name?: string; entity?: { name?: string } } } } };
        errors?: { message?: string }[];
      };
      if (res.errors?.length) throw new Error(res.errors.map((e) => e.message).join('; '));
      const bucket = res.data?.upsertBucket?.bucket;
      const entity = bucket?.project?.entity?.name ?? variables.entity;
      const project = bucket?.project?.name ?? settings.project_name;
      if (!entity) throw new Error('upsertBucket did not say which entity owns the run');
      const id = bucket?.name ?? this.runId;
      this.run = { entity, project, id };
      this.stream = `${this.baseUrl}/files/${encodeURIComponent(entity)}/${encodeURIComponent(project)}/${encodeURIComponent(id)}/file_stream`;
      this.url = `${this.baseUrl.replace('//api.', '//')}/${entity}/${project}/runs/${id}`;
      this.info(`WandbLogger: run ${settings.run_name} at ${this.url}`);
    });
  }

  get enabled(): boolean {
    return !this.off;
  }

  private disable(message: string): void {
    if (this.off) return;
    this.off = true;
    this.warn(`WandbLogger: ${message}`);
  }

  private async post(url: string, body: unknown): Promise<unknown> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: this.auth!, 'User-Agent': 'dlc-gpu' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const reply = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}${reply ? `: ${reply.slice(0, 200)}` : ''}`);
    try {
      return reply ? JSON.parse(reply) : {};
    } catch {
      return {};
    }
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.off) return;
      try {
        await task();
      } catch (err) {
        const e = err as Error & { cause?: { message?: string } };
        this.disable(`W&B is not reachable at ${this.baseUrl} (${e.cause?.message ?? e.message}); logging locally only`);
      }
    });
  }

  /**
   * Queues one history row (step = epoch, as DeepLabCut logs it), with images as wandb.Image values;
   * returns at once. Images are uploaded first, as the wandb client does: createRunFiles gives an upload
   * URL per media file, each PNG is PUT there, and the row refers to it as an image-file.
   */
  log(step: number, values: Readonly<Record<string, number>>, images: readonly LoggedImage[] = []): void {
    if (this.off) return;
    const now = Date.now();
    const media = images.map((im) => {
      const sha256 = createHash('sha256').update(im.png).digest('hex');
      const path = `media/images/${im.key}_${step}_${sha256.slice(0, 20)}.png`;
      return { im, path, value: { _type: 'image-file', path, sha256, size: im.png.length, format: 'png', width: im.width, height: im.height } };
    });
    const row = { ...values, _step: step, _runtime: (now - this.started) / 1000, _timestamp: now / 1000 };
    Object.assign(this.summary, row);
    const summary = historyJson(this.summary);
    const history = historyJson(row, Object.fromEntries(media.map((m) => [m.im.key, m.value])));
    this.enqueue(async () => {
      if (media.length) await this.upload(media.map((m) => ({ path: m.path, body: m.im.png })));
      const offset = this.lines;
      const uploaded = media.length ? `,"uploaded":${JSON.stringify(media.map((m) => m.path))}` : '';
      await this.post(this.stream!, `{"files":{"wandb-history.jsonl":{"offset":${offset},"content":[${JSON.stringify(history)}]},"wandb-summary.json":{"offset":0,"content":[${JSON.stringify(summary)}]}}${uploaded}}`);
      this.lines = offset + 1;
    });
  }

  private async upload(files: { path: string; body: Uint8Array }[]): Promise<void> {
    const res = (await this.post(`${this.baseUrl}/graphql`, {
      query: CREATE_RUN_FILES,
      variables: { entity: this.run!.entity, project: this.run!.project, run: this.run!.id, files: files.map((f) => f.path) },
    })) as { data?: { createRunFiles?: { uploadHeaders?: string[]; files?: { name: string; uploadUrl: string }[] } }; errors?: { message?: string }[] };
    if (res.errors?.length) throw new Error(res.errors.map((e) => e.message).join('; '));
    const created = res.data?.createRunFiles;
    // Headers come as "Name:value" strings.
    const headers = Object.fromEntries((created?.uploadHeaders ?? []).map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)]));
    for (const f of files) {
      const url = created?.files?.find((c) => c.name === f.path)?.uploadUrl;
      if (!url) throw new Error(`createRunFiles gave no upload URL for ${f.path}`);
      const put = await fetch(url, { method: 'PUT', headers, body: Buffer.from(f.body), signal: AbortSignal.timeout(this.timeoutMs) });
      await put.arrayBuffer();
      if (!put.ok) throw new Error(`HTTP ${put.status} uploading ${f.path}`);
    }
  }

  /** Marks the run finished and waits (at most `waitMs`) for the queued requests. */
  async finish(exitcode = 0, waitMs = 30_000): Promise<void> {
    this.enqueue(async () => {
      await this.post(this.stream!, { complete: true, exitcode });
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.queue, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }
}
