// How Python values that JS has no exact match for are represented, shared by the pickle writer and the
// PyTorch file reader:
//   dict          -> Map (or, when writing, a plain object with string keys)
//   OrderedDict   -> PyOrderedDict (a Map that remembers its instance attributes, e.g. a state dict's _metadata)
//   Counter       -> PyCounter (a Map)
//   tuple         -> a frozen array (what pickle.ts returns); `tuple(...)` makes one
//   list          -> a (non-frozen) array
//   int           -> number when it is a safe integer, else bigint
//   float         -> number; an integer-valued float can be kept a float by wrapping it: `new PyFloat(1)`
//   bytes         -> Uint8Array
//   a class or function reference (e.g. torch.float32) -> PyGlobal

/** A Python float whose value happens to be an integer (so it must not be written as an int). */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
}

/** collections.OrderedDict; `attributes` holds what pickle's BUILD gave it (a state dict's `_metadata`). */
export class PyOrderedDict<K = unknown, V = unknown> extends Map<K, V> {
  attributes: Map<unknown, unknown> | undefined = undefined;
  __setstate__(state: unknown): void {
    if (state instanceof Map) this.attributes = state;
    else if (state !== null && state !== undefined) this.attributes = new Map(Object.entries(state as object));
  }
}

/** collections.Counter (a learning-rate scheduler's milestones): a Map of element -> count. */
export class PyCounter<K = unknown> extends Map<K, number> {}

/** A reference to a Python global (a class or function), written as pickle GLOBAL `module name`. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/** `callable(*args)` at unpickling time, then BUILD with `state` when given: pickle's REDUCE. */
export class PyReduce {
  constructor(
    readonly callable: PyGlobal,
    readonly args: readonly unknown[],
    readonly state?: unknown,
  ) {}
}

/** A value that the pickle refers to by persistent id (BINPERSID): how PyTorch points at storages. */
export class PyPersistentId {
  constructor(readonly pid: unknown) {}
}

/** A Python tuple: a frozen array. */
export function tuple<T extends unknown[]>(...items: T): Readonly<T> {
  return Object.freeze(items);
}

export function isTuple(x: unknown): x is readonly unknown[] {
  return Array.isArray(x) && Object.isFrozen(x);
}
