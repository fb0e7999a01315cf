// Registries keyed by the config's `type` (DeepLabCut's BACKBONES, HEADS, PREDICTORS, ... and DETECTORS).
// Built-in types and plugin types register the same way; a config names a type, the registry builds it.
import type { GenericSchema } from 'valibot';

export interface RegisterOptions {
  /** A valibot schema for the type's own keys (the config block without `type`); checked before building. */
  schema?: GenericSchema;
  /** Who registered it: 'built-in', or a plugin's path (recorded in snapshots so loading can name it). */
  source?: string;
}

export interface RegistryEntry<T, Ctx> {
  readonly type: string;
  readonly build: (cfg: TypedBlock, ctx: Ctx) => T;
  readonly schema?: GenericSchema;
  readonly source: string;
}

/** A config block that names a registered type; its other keys are the type's own. */
export interface TypedBlock {
  type: string;
  [key: string]: unknown;
}

export class UnknownTypeError extends Error {
  constructor(
    readonly where: string,
    readonly type: string,
    readonly registered: readonly string[],
    what: string,
  ) {
    super(`${where}: unknown ${what} type '${type}' (registered: ${registered.length ? registered.join(', ') : 'none'})`);
    this.name = 'UnknownTypeError';
  }
}

// The source recorded for registrations that name none: 'built-in', or the plugin being loaded.
let currentSource = 'built-in';

/** Runs `fn` (a plugin's registration) so that what it registers is recorded as coming from `source`. */
export async function registeringAs<R>(source: string, fn: () => R | Promise<R>): Promise<R> {
  const before = currentSource;
  currentSource = source;
  try {
    return await fn();
  } finally {
    currentSource = before;
  }
}

export class Registry<T, Ctx = unknown> {
  private readonly entries = new Map<string, RegistryEntry<T, Ctx>>();
  /**
   * @param name DeepLabCut's registry name (BACKBONES, HEADS, ...).
   * @param what What one entry is, for messages ("backbone", "head").
   */
  constructor(
    readonly name: string,
    readonly what: string,
  ) {}

  /** Registers `type`. Registering a taken name from another source is an error; the same source again replaces it (a plugin imported twice). */
  register(type: string, build: (cfg: TypedBlock, ctx: Ctx) => T, opts: RegisterOptions = {}): void {
    if (!type) throw new Error(`${this.name}: a type name must be a non-empty string`);
    const source = opts.source ?? currentSource;
    if (opts.schema !== undefined && (opts.schema as { kind?: unknown } | null)?.kind !== 'schema')
      throw new Error(`${this.name}: the schema given for '${type}' by ${source} is not a valibot schema; build it with dg.v, e.g. dg.v.strictObject({ channels: dg.v.number() })`);
    const taken = this.entries.get(type);
    if (taken && taken.source !== source)
      throw new Error(`${this.name}: type '${type}' is already registered by ${taken.source}; ${source} cannot register it again`);
    this.entries.set(type, { type, build, schema: opts.schema, source });
  }

  has(type: string): boolean {
    return this.entries.has(type);
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** The entry for `type`; `where` is the config key path for the error (e.g. model.backbone.type). */
  get(type: string, where: string): RegistryEntry<T, Ctx> {
    const e = this.entries.get(type);
    if (!e) throw new UnknownTypeError(where, type, this.names(), this.what);
    return e;
  }

  /** Builds the block's type; `where` is the block's key path (model.backbone), errors name `<where>.type`. */
  build(cfg: TypedBlock, ctx: Ctx, where: string): T {
    return this.get(cfg.type, `${where}.type`).build(cfg, ctx);
  }

  /** The registered types that came from `source`. */
  typesFrom(source: string): string[] {
    return [...this.entries.values()].filter((e) => e.source === source).map((e) => e.type).sort();
  }

  /** Removes a type (tests, and plugins that unload). */
  unregister(type: string): boolean {
    return this.entries.delete(type);
  }
}
