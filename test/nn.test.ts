// Modules: PyTorch state-dict names and order, strict loading that reports every problem at once,
// train/eval propagation, and PyTorch's initialiser formulas.
import { describe, expect, it } from 'vitest';
import * as dg from '../src/index.ts';
import { nn } from '../src/index.ts';
import { expectClose } from './helpers/compare.ts';
import { useGpu } from './helpers/gpu.ts';

useGpu();

class Block extends nn.Module {
  readonly fc: nn.Linear;
  modeChanges = 0;
  constructor() {
    super();
    this.fc = this.registerModule('fc', new nn.Linear(3, 2, { seed: 1 }));
    this.registerBuffer('count', dg.zeros([]), { dtype: 'int64' });
    this.registerBuffer('scratch', dg.zeros([2]), { persistent: false });
  }
  protected override onModeChange(): void {
    this.modeChanges++;
  }
}

describe('Module', () => {
  it('names state-dict entries as PyTorch does, in its order', () => {
    const model = new nn.Sequential(new nn.Linear(4, 3, { seed: 1 }), new nn.ReLU(), new nn.Linear(3, 2, { bias: false, seed: 2 }));
    expect(model.stateDictKeys()).toEqual(['0.weight', '0.bias', '2.weight']);
    const list = new nn.ModuleList([new Block(), new Block()]);
    // A module's own parameters and buffers come before its children's, as in torch's state_dict().
    expect(list.stateDictKeys()).toEqual(['0.count', '0.fc.weight', '0.fc.bias', '1.count', '1.fc.weight', '1.fc.bias']);
    expect(list.namedParameters().map(([k]) => k)).toEqual(['0.fc.weight', '0.fc.bias', '1.fc.weight', '1.fc.bias']);
  });

  it('round-trips a state dict and computes what the weights say', async () => {
    const a = new nn.Linear(3, 2, { seed: 5 });
    const b = new nn.Linear(3, 2, { seed: 6 });
    const state = await a.stateDict();
    b.loadStateDict(state);
    const x = dg.tensor([[1, 2, 3], [-1, 0.5, 2]]);
    const ya = await a.forward(x).toArray();
    expect(await b.forward(x).toArray()).toEqual(ya);
    // y = x W^T + b by hand.
    const w = state.get('weight')!.data;
    const bias = state.get('bias')!.data;
    const want = [0, 1].flatMap((r) => [0, 1].map((o) => bias[o]! + [0, 1, 2].reduce((s, i) => s + [[1, 2, 3], [-1, 0.5, 2]][r]![i]! * w[o * 3 + i]!, 0)));
    expectClose(ya, want, 1e-5);
  });

  it('strict loading reports missing, unexpected and wrong-shape keys together and changes nothing', async () => {
    const m = new Block();
    const before = await m.fc.stateDict();
    const bad = new Map([
      ['fc.weight', { shape: [3, 2], data: new Float32Array(6) }],
      ['fc.extra', { shape: [1], data: new Float32Array(1) }],
    ]);
    let err: unknown;
    try {
      m.loadStateDict(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(nn.StateDictError);
    const e = err as InstanceType<typeof nn.StateDictError>;
    expect(e.missing).toEqual(['count', 'fc.bias']);
    expect(e.unexpected).toEqual(['fc.extra']);
    expect(e.mismatched).toEqual(['fc.weight: file [3, 2], model [2, 3]']);
    expect(e.message).toMatch(/missing keys \(2\): count, fc.bias/);
    expect(await m.fc.stateDict()).toEqual(before);
  });

  it('non-strict loading loads what matches and returns the rest', async () => {
    const m = new Block();
    const r = m.loadStateDict(new Map([['count', { shape: [], data: new Float32Array([7]) }]]), false);
    expect(r.missing).toEqual(['fc.weight', 'fc.bias']);
    expect((await m.stateDict()).get('count')).toEqual({ shape: [], data: new Float32Array([7]), dtype: 'int64' });
  });

  it('train() and eval() reach every module and let each re-apply its rules', () => {
    const list = new nn.ModuleList([new Block(), new Block()]);
    list.eval();
    expect(list.items.every((b) => !b.training && !b.fc.training)).toBe(true);
    list.train();
    expect(list.items.every((b) => b.training && b.modeChanges === 2)).toBe(true);
  });

  it('zeroGrad releases gradients; dispose releases parameters', async () => {
    const m = new nn.Linear(4, 2, { seed: 3 });
    dg.tidy(() => dg.sum(m.forward(dg.ones([1, 4]))).backward());
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    const before = dg.engine().stats().liveBuffers;
    m.dispose();
    expect(dg.engine().stats().liveBuffers).toBe(before - 2);
  });
});

describe('initialisers', () => {
  const moments = (d: Float32Array) => {
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    return { mean, std: Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / d.length), min: Math.min(...d), max: Math.max(...d) };
  };
  it('PyTorch default weight and bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in))', async () => {
    const w = moments(await nn.init.defaultWeight([64, 16, 3, 3], { seed: 1 }).toArray());
    const bound = 1 / Math.sqrt(16 * 9);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    expect(w.std).toBeCloseTo(bound / Math.sqrt(3), 3);
  });
  it('kaiming normal (fan_out, relu) as torchvision ResNets use', async () => {
    const w = moments(await nn.init.kaimingNormal([128, 64, 3, 3], { mode: 'fan_out', nonlinearity: 'relu', seed: 2 }).toArray());
    expect(w.std).toBeCloseTo(Math.sqrt(2 / (128 * 9)), 3);
    expect(Math.abs(w.mean)).toBeLessThan(2e-3);
  });
  it("DeepLabCut's head init N(0, 0.001) and xavier uniform", async () => {
    expect(moments(await nn.init.dlcNormal([17, 256, 3, 3], { seed: 3 }).toArray()).std).toBeCloseTo(0.001, 4);
    const x = moments(await nn.init.xavierUniform([100, 200], { seed: 4 }).toArray());
    expect(x.max).toBeLessThanOrEqual(Math.sqrt(6 / 300));
    expect(x.std).toBeCloseTo(Math.sqrt(6 / 300) / Math.sqrt(3), 3);
  });
  it('constant', async () => {
    expect(Array.from(await nn.init.constant([3], 0.25).toArray())).toEqual([0.25, 0.25, 0.25]);
  });
});
