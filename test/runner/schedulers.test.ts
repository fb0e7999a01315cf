// Learning-rate schedulers against deeplabcut-engine-reference.md §8.2 (DeepLabCut's
// test_schedulers.py / test_runners_train.py tables) and against torch 1.13 traces
// (test/fixtures/runner/schedulers.json, from scripts/fixtures/make_runner_fixtures.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.ts';
import type { Optimizer } from '../../src/optim/optimizer.ts';
import {
  buildScheduler, ChainedScheduler, LRListScheduler, loadSchedulerState, ReduceLROnPlateau, SequentialLR, StepLR,
  type BuiltScheduler, type SchedulerConfig, type SchedulerOptimizer, type SchedulerStateDict, type SteppedScheduler,
} from '../../src/runner/schedulers/index.ts';

// The project's optimizer must satisfy the scheduler's interface (checked by tsc).
const _optimizerFits = (o: Optimizer): SchedulerOptimizer => o;
void _optimizerFits;

interface Case {
  name: string;
  config: SchedulerConfig;
  initial_lrs: number[];
  lrs: number[][];
  last_lr: number[][];
  state_epochs: number[];
  states: SchedulerStateDict[];
}
interface PlateauCase {
  name: string;
  params: Record<string, unknown>;
  metrics: (number | 'NaN')[];
  initial_lrs: number[];
  lrs: number[][];
  states: SchedulerStateDict[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/runner/schedulers.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  plateau: PlateauCase[];
};

/** JSON cannot hold ±inf; the fixture writes them as strings. */
function revive(v: unknown): unknown {
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  return v;
}

const opt = (...lrs: number[]): SchedulerOptimizer => ({ paramGroups: lrs.map((lr) => ({ lr })) });

function stepped(config: SchedulerConfig, o: SchedulerOptimizer): SteppedScheduler {
  const s = buildScheduler(config, o);
  if (s instanceof ReduceLROnPlateau) throw new Error('expected an epoch scheduler');
  return s;
}

/** DeepLabCut's loop: record the LR the epoch trains with, then step after the epoch. */
function lrTable(config: SchedulerConfig, initLr: number, epochs: number): number[] {
  const o = opt(initLr);
  const s = stepped(config, o);
  const out: number[] = [];
  for (let e = 1; e <= epochs; e++) {
    out.push(o.paramGroups[0]!.lr);
    s.step();
  }
  return out;
}

function expectClose(actual: readonly number[], expected: readonly number[], rel = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    if (Math.abs(a - e) > rel * Math.max(Math.abs(e), 1e-300)) expect.fail(`index ${i}: ${a} != ${e} (diff ${a - e})\n actual ${JSON.stringify(actual)}\n expected ${JSON.stringify(expected)}`);
  });
}

const c = (type: string, params: Record<string, unknown>) => ({ type, params }) as SchedulerConfig;

describe('reference §8.2 LR tables (test_schedulers.py)', () => {
  const table: [string, SchedulerConfig, number, number[]][] = [
    ['LRList m=[2,5] lr=[[.5],[.1]] (1.0)', c('LRListScheduler', { milestones: [2, 5], lr_list: [[0.5], [0.1]] }), 1, [1, 1, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1]],
    ['LRList m=[1] [[.1]] (.1)', c('LRListScheduler', { milestones: [1], lr_list: [[0.1]] }), 0.1, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1]],
    ['LRList m=[1] [[.5]] (.1)', c('LRListScheduler', { milestones: [1], lr_list: [[0.5]] }), 0.1, [0.1, 0.5, 0.5, 0.5]],
    ['StepLR(3, .1) (1.0)', c('StepLR', { step_size: 3, gamma: 0.1 }), 1, [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001]],
    ['ConstantLR(.1, 3)', c('ConstantLR', { factor: 0.1, total_iters: 3 }), 1, [0.1, 0.1, 0.1, 1, 1]],
    [
      'SequentialLR[ConstantLR(.1,2), ExponentialLR(.9)] m=[2]',
      c('SequentialLR', { schedulers: [c('ConstantLR', { factor: 0.1, total_iters: 2 }), c('ExponentialLR', { gamma: 0.9 })], milestones: [2] }),
      1,
      [0.1, 0.1, 1, 0.9, 0.81, 0.729],
    ],
    [
      'SequentialLR[ConstantLR(.1,2), StepLR(2,.1)] m=[5]',
      c('SequentialLR', { schedulers: [c('ConstantLR', { factor: 0.1, total_iters: 2 }), c('StepLR', { step_size: 2, gamma: 0.1 })], milestones: [5] }),
      1,
      [0.1, 0.1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.01],
    ],
  ];

  for (const [name, config, init, expected] of table) {
    it(name, () => expectClose(lrTable(config, init, expected.length), expected, 1e-9));

    it(`${name}: same sequence when the state dict is saved and reloaded every epoch`, () => {
      let state: SchedulerStateDict | undefined;
      const out: number[] = [];
      for (let e = 1; e <= expected.length; e++) {
        const o = opt(init); // a fresh optimizer and scheduler each epoch, as a resumed run builds them
        const s = stepped(config, o);
        if (state) loadSchedulerState(s, JSON.parse(JSON.stringify(state)) as SchedulerStateDict);
        out.push(o.paramGroups[0]!.lr);
        s.step();
        state = s.stateDict();
      }
      expectClose(out, expected, 1e-9);
    });
  }

  it('pytorch-config-reference SequentialLR example: 0.01, 0.01, 1, 1, 1, 1, 1, 0.1, 0.1', () => {
    const cfg = c('SequentialLR', { schedulers: [c('ConstantLR', { factor: 0.01, total_iters: 2 }), c('StepLR', { step_size: 2, gamma: 0.1 })], milestones: [5] });
    expectClose(lrTable(cfg, 1, 9), [0.01, 0.01, 1, 1, 1, 1, 1, 0.1, 0.1], 1e-9);
  });
});

describe('reference §8.2 resume without scheduler state (test_runners_train.py)', () => {
  /** Train to `stopAt`, then resume from a snapshot holding only metadata.epoch: a fresh optimizer
   * and scheduler, `scheduler.last_epoch = starting_epoch`, epochs starting_epoch+1 .. total. */
  function resumed(config: SchedulerConfig, init: number, stopAt: number, total: number): number[] {
    const out: number[] = [];
    let o = opt(init);
    let s = stepped(config, o);
    for (let e = 1; e <= stopAt; e++) {
      out.push(o.paramGroups[0]!.lr);
      s.step();
    }
    o = opt(init);
    s = stepped(config, o);
    s.lastEpoch = stopAt;
    for (let e = stopAt + 1; e <= total; e++) {
      out.push(o.paramGroups[0]!.lr);
      s.step();
    }
    return out;
  }

  it('LRList m=[2,5] resumed at epoch 3: [1,1,.5, 1,1,.1,.1,.1]', () => {
    expectClose(resumed(c('LRListScheduler', { milestones: [2, 5], lr_list: [[0.5], [0.1]] }), 1, 3, 8), [1, 1, 0.5, 1, 1, 0.1, 0.1, 0.1], 1e-9);
  });

  it('StepLR(4) resumed at 3: 4x1, 4x.1, 4x.01, 4x.001', () => {
    const exp = [1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001];
    expectClose(resumed(c('StepLR', { step_size: 4, gamma: 0.1 }), 1, 3, 16), exp, 1e-9);
  });

  it('StepLR(4) resumed at 5: 4x1, .1, 1, 1, 1, 4x.1', () => {
    const exp = [1, 1, 1, 1, 0.1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1];
    expectClose(resumed(c('StepLR', { step_size: 4, gamma: 0.1 }), 1, 5, 12), exp, 1e-9);
  });
});

describe('against torch 1.13 (fixtures/runner/schedulers.json)', () => {
  for (const k of fixture.cases) {
    it(`${k.name}: LR per epoch and get_last_lr()`, () => {
      const o = opt(...k.initial_lrs);
      const s = stepped(k.config, o);
      k.lrs.forEach((expected, e) => {
        expectClose(o.paramGroups.map((g) => g.lr), expected);
        s.step();
        expectClose(s.getLastLr(), k.last_lr[e]!);
      });
    });

    it(`${k.name}: resumes from torch's state_dict`, () => {
      k.state_epochs.forEach((epoch, i) => {
        const o = opt(...k.initial_lrs);
        const s = stepped(k.config, o);
        loadSchedulerState(s, revive(k.states[i]) as SchedulerStateDict);
        for (let e = epoch; e < k.lrs.length; e++) {
          expectClose(o.paramGroups.map((g) => g.lr), k.lrs[e]!);
          s.step();
        }
      });
    });
  }

  for (const k of fixture.plateau) {
    it(`ReduceLROnPlateau ${k.name}: LRs and state after each metric`, () => {
      const o = opt(...k.initial_lrs);
      const s = buildScheduler({ type: 'ReduceLROnPlateau', params: k.params }, o) as ReduceLROnPlateau;
      k.metrics.forEach((m, i) => {
        s.step(m === 'NaN' ? NaN : m);
        expectClose(o.paramGroups.map((g) => g.lr), k.lrs[i]!);
        const torchState = revive(k.states[i]) as SchedulerStateDict;
        const ours = s.stateDict();
        for (const key of ['best', 'num_bad_epochs', 'cooldown_counter', 'last_epoch', 'min_lrs', 'mode_worse', '_last_lr'])
          expect(ours[key], key).toEqual(torchState[key]);
      });
    });

    it(`ReduceLROnPlateau ${k.name}: resumes from torch's state_dict midway`, () => {
      const mid = Math.floor(k.metrics.length / 2);
      const o = opt(...k.lrs[mid]!);
      const s = new ReduceLROnPlateau(o);
      s.loadStateDict(revive(k.states[mid]) as SchedulerStateDict);
      for (let i = mid + 1; i < k.metrics.length; i++) {
        const m = k.metrics[i]!;
        s.step(m === 'NaN' ? NaN : m);
        expectClose(o.paramGroups.map((g) => g.lr), k.lrs[i]!);
      }
    });
  }
});

describe('state dicts', () => {
  it("use PyTorch's key names, and initial_lr is added to the param groups", () => {
    const o = opt(0.1);
    const s = new StepLR(o, { step_size: 2, gamma: 0.5 });
    expect(o.paramGroups[0]!.initial_lr).toBe(0.1);
    s.step();
    expect(s.stateDict()).toEqual({
      step_size: 2, gamma: 0.5, base_lrs: [0.1], last_epoch: 1, _step_count: 2, _is_initial: false, _get_lr_called_within_step: false, _last_lr: [0.1],
    });
  });

  it('keep unknown keys (torch 1.13 `verbose`) through a load/save round trip', () => {
    const s = new LRListScheduler(opt(1), { milestones: [2], lr_list: [[0.5]] });
    s.loadStateDict({ milestones: [2], lr_list: [[0.5]], base_lrs: [1], last_epoch: 2, verbose: false, _step_count: 3, _get_lr_called_within_step: false, _last_lr: [0.5] });
    const sd = s.stateDict();
    expect(sd.verbose).toBe(false);
    expect(sd.last_epoch).toBe(2);
    expect(s.getLastLr()).toEqual([0.5]);
  });

  it('nest children under _schedulers for SequentialLR and ChainedScheduler', () => {
    const o = opt(1);
    const seq = buildScheduler(c('SequentialLR', { schedulers: [c('ConstantLR', { factor: 0.5, total_iters: 1 }), c('ExponentialLR', { gamma: 0.5 })], milestones: [1] }), o) as SequentialLR;
    const sd = seq.stateDict();
    expect(Object.keys(sd)).toEqual(['_milestones', 'last_epoch', '_last_lr', '_schedulers']);
    expect((sd._schedulers as SchedulerStateDict[]).map((x) => Object.keys(x)[0])).toEqual(['factor', 'gamma']);
    const ch = buildScheduler(c('ChainedScheduler', { schedulers: [c('StepLR', { step_size: 1 })] }), opt(1)) as ChainedScheduler;
    expect(Object.keys(ch.stateDict())).toEqual(['_last_lr', '_schedulers']);
  });

  it('MultiStepLR keeps its milestones as a Counter-like mapping', () => {
    const o = opt(1);
    const s = stepped(c('MultiStepLR', { milestones: [3, 3, 5] }), o);
    expect(s.stateDict().milestones).toEqual({ 3: 2, 5: 1 });
  });
});

describe('buildScheduler errors name the key path', () => {
  const fails = (config: unknown, ...fragments: string[]) => {
    let err: unknown;
    try {
      buildScheduler(config as SchedulerConfig, opt(1));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    for (const f of fragments) expect((err as Error).message).toContain(f);
  };

  it('null config gives no scheduler', () => expect(buildScheduler(null, opt(1))).toBeNull());
  it('unknown type', () => fails({ type: 'StepLRR', params: {} }, 'runner.scheduler.type', 'unknown scheduler type "StepLRR"'));
  it('unsupported type', () => fails({ type: 'OneCycleLR', params: {} }, 'runner.scheduler.type', 'not supported'));
  it('unknown parameter', () => fails({ type: 'StepLR', params: { step_size: 2, gama: 0.1 } }, 'runner.scheduler.params.gama', 'unknown parameter'));
  it('missing parameter', () => fails({ type: 'ExponentialLR', params: {} }, 'runner.scheduler.params.gamma', 'required'));
  it('wrong parameter type', () => fails({ type: 'StepLR', params: { step_size: '3' } }, 'runner.scheduler.params.step_size', 'expected a number'));
  it('out-of-range factor', () => fails({ type: 'ConstantLR', params: { factor: 2 } }, 'runner.scheduler.params.factor', '<= 1'));
  it('milestones must increase', () => fails({ type: 'LRListScheduler', params: { milestones: [5, 2], lr_list: [[1], [2]] } }, 'runner.scheduler.params.milestones[1]'));
  it('lr_list length', () => fails({ type: 'LRListScheduler', params: { milestones: [5], lr_list: [[1], [2]] } }, 'runner.scheduler.params.lr_list'));
  it('nested errors carry the nested path, all reported together', () => {
    fails(
      { type: 'SequentialLR', params: { schedulers: [{ type: 'Nope', params: {} }, { type: 'StepLR', params: {} }], milestones: [3] } },
      'runner.scheduler.params.schedulers[0].type',
      'runner.scheduler.params.schedulers[1].params.step_size',
      '2 problems',
    );
  });
  it('SequentialLR milestone count', () =>
    fails({ type: 'SequentialLR', params: { schedulers: [c('StepLR', { step_size: 1 }), c('StepLR', { step_size: 1 })], milestones: [1, 2] } }, 'runner.scheduler.params.milestones'));
  it('ReduceLROnPlateau inside a composite', () =>
    fails({ type: 'ChainedScheduler', params: { schedulers: [c('ReduceLROnPlateau', {})] } }, 'runner.scheduler.params.schedulers[0].type', 'ReduceLROnPlateau'));
  it('custom path and file', () => {
    expect(() => buildScheduler({ type: 'Nope' } as unknown as SchedulerConfig, opt(1), { path: ['detector', 'runner', 'scheduler'], file: 'cfg.yaml' })).toThrow(
      'cfg.yaml: detector.runner.scheduler.type',
    );
  });
});

describe('misc semantics', () => {
  it('ChainedScheduler compounds its children (torch 2.x example: 0.05 x ConstantLR(.1,20) x ExponentialLR(.9))', () => {
    const o = opt(0.05);
    const s: BuiltScheduler = buildScheduler(c('ChainedScheduler', { schedulers: [c('ConstantLR', { factor: 0.1, total_iters: 20 }), c('ExponentialLR', { gamma: 0.9 })] }), o);
    const lrs: number[] = [];
    for (let e = 0; e < 22; e++) {
      lrs.push(o.paramGroups[0]!.lr);
      (s as SteppedScheduler).step();
    }
    // ConstantLR's 0.1 for 20 epochs times 0.9^e, then the factor is lifted at epoch 20.
    expect(lrs[0]).toBeCloseTo(0.005, 15);
    expect(lrs[19]).toBeCloseTo(0.005 * 0.9 ** 19, 15);
    expect(lrs[20]).toBeCloseTo(0.05 * 0.9 ** 20, 15);
  });

  it('ReduceLROnPlateau is stepped with a metric', () => {
    const o = opt(1);
    const s = new ReduceLROnPlateau(o, { mode: 'max', patience: 0 });
    s.step(50);
    s.step(49);
    expect(o.paramGroups[0]!.lr).toBeCloseTo(0.1, 15);
  });

  it('a scheduler built with last_epoch != -1 needs initial_lr in the groups, as PyTorch', () => {
    expect(() => new StepLR(opt(1), { step_size: 2, last_epoch: 3 })).toThrow("initial_lr");
    const o: SchedulerOptimizer = { paramGroups: [{ lr: 0.25, initial_lr: 1 }] };
    const s = new StepLR(o, { step_size: 2, last_epoch: 3 });
    expect(s.lastEpoch).toBe(4);
    expect(o.paramGroups[0]!.lr).toBeCloseTo(0.025, 15); // chainable form at epoch 4 from the current 0.25
  });
});
