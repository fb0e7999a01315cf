// Pose metrics against deeplabcut-engine-reference.md §4 and §8.4 (DeepLabCut's
// tests/pose_estimation_pytorch/apis/test_apis_evaluate.py fixtures), and against DeepLabCut's
// algorithm recomputed with numpy (test/fixtures/runner/metrics.json, scripts/fixtures/make_runner_fixtures.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  computeMetrics, computeOksMetrics, computeRmse, linspace, objectKeypointSimilarity, OKS_THRESHOLDS, pairwiseSum, RECALL_THRESHOLDS,
  subsetKeypoints, toDlcResults, type PoseMetrics, type PoseSet,
} from '../../src/runner/metrics/index.ts';

type Images = Map<string, number[][][]>;

/** test_apis_evaluate.generate_data: GT at 100·arange, the error split equally between x and y, score 1. */
function generateData(numImages: number, numIndividuals: number, numBodyparts: number, error: readonly number[]): [Images, Images] {
  const gt: Images = new Map();
  const pred: Images = new Map();
  for (let img = 0; img < numImages; img++) {
    const g: number[][][] = [];
    const p: number[][][] = [];
    for (let i = 0; i < numIndividuals; i++) {
      g.push([]);
      p.push([]);
      for (let k = 0; k < numBodyparts; k++) {
        const base = 3 * (i * numBodyparts + k);
        const x = 100 * base, y = 100 * (base + 1);
        const d = (Math.SQRT2 / 2) * error[k]!;
        g[i]!.push([x, y, 2]);
        p[i]!.push([x + d, y + d, 1]);
      }
    }
    const name = `img_${String(img).padStart(4, '0')}.png`;
    gt.set(name, g);
    pred.set(name, p);
  }
  return [gt, pred];
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('§8.4 test_evaluate_basic / with_unique_bodyparts', () => {
  for (const n of [1, 2, 5]) {
    for (const [bpts, error] of [[2, [5, 10]], [3, [2, 3, 4]]] as [number, number[]][]) {
      it(`${n} individual(s), errors ${JSON.stringify(error)} -> rmse ${avg(error)}`, () => {
        const [gt, pred] = generateData(1, n, bpts, error);
        const m = computeMetrics(gt, pred, { singleAnimal: n === 1 });
        expect(m.rmse).toBeCloseTo(avg(error), 10);
        expect(m.rmse_pcutoff).toBeCloseTo(avg(error), 10); // scores are 1
        expect(m.reasons).toEqual({});
      });

      for (const uErr of [[2], [2, 3]]) {
        it(`${n} individual(s), errors ${JSON.stringify(error)}, unique ${JSON.stringify(uErr)}: pooled mean`, () => {
          const [gt, pred] = generateData(5, n, bpts, error);
          const [ugt, upred] = generateData(5, 1, uErr.length, uErr);
          const m = computeMetrics(gt, pred, { singleAnimal: n === 1, uniqueGroundTruth: ugt, uniquePredictions: upred });
          const expected = avg([...Array.from({ length: n }, () => error).flat(), ...uErr]);
          expect(m.rmse).toBeCloseTo(expected, 10);
          expect(m.keypoints.unique_rmse.map((x) => +x.toFixed(9))).toEqual(uErr);
          expect(m.keypoints.rmse.map((x) => +x.toFixed(9))).toEqual(error);
        });
      }
    }
  }
});

describe('§8.4 test_evaluate_with_comparison_bodyparts', () => {
  const names = ['nose', 'left_ear'];
  /** evaluate()'s comparison_bodyparts handling: subset each part; only-unique selections become the main set (single animal). */
  function evaluate(n: number, unique: string[], uniqueErr: number[], comparison: string | string[] | null): number {
    const [gt, pred] = generateData(5, n, 2, [5, 10]);
    const [ugt, upred] = generateData(5, 1, unique.length, uniqueErr);
    const sel = comparison === null || comparison === 'all' ? null : typeof comparison === 'string' ? [comparison] : comparison;
    const k = sel ? names.map((b, i) => (sel.includes(b) ? i : -1)).filter((i) => i >= 0) : [0, 1];
    const u = sel ? unique.map((b, i) => (sel.includes(b) ? i : -1)).filter((i) => i >= 0) : unique.map((_, i) => i);
    if (k.length === 0) return computeMetrics(subsetKeypoints(ugt, u), subsetKeypoints(upred, u), { singleAnimal: true }).rmse;
    return computeMetrics(subsetKeypoints(gt, k), subsetKeypoints(pred, k), {
      singleAnimal: n === 1,
      uniqueGroundTruth: subsetKeypoints(ugt, u),
      uniquePredictions: subsetKeypoints(upred, u),
    }).rmse;
  }
  const cases: [number, string[], number[], string | string[] | null, number][] = [
    [1, ['top_left'], [2], null, (2 + 5 + 10) / 3],
    [1, ['top_left'], [2], 'all', (2 + 5 + 10) / 3],
    [1, ['top_left'], [2], ['nose', 'left_ear', 'top_left'], (2 + 5 + 10) / 3],
    [2, ['top_left'], [2], null, (2 + 5 + 5 + 10 + 10) / 5],
    [1, ['top_left'], [2], 'nose', 5],
    [1, ['top_left'], [2], ['nose'], 5],
    [1, ['top_left'], [2], ['left_ear'], 10],
    [1, ['top_left'], [2], ['nose', 'left_ear'], 7.5],
    [1, ['top_left'], [2], 'top_left', 2],
    [1, ['top_left'], [2], ['top_left'], 2],
    [1, ['a', 'b', 'c'], [3, 4, 5], ['a', 'b', 'c'], 4],
    [1, ['a', 'b', 'c'], [3, 4, 5], ['nose', 'a', 'b', 'c'], (5 + 3 + 4 + 5) / 4],
    [7, ['a', 'b', 'c'], [3, 4, 5], ['nose', 'left_ear', 'a', 'b'], (7 * 5 + 7 * 10 + 3 + 4) / 16],
  ];
  for (const [n, unique, uErr, comparison, expected] of cases) {
    it(`${n} individual(s), unique ${unique.join(',')}, comparison ${JSON.stringify(comparison)} -> ${expected}`, () => {
      expect(evaluate(n, unique, uErr, comparison)).toBeCloseTo(expected, 10);
    });
  }
});

interface Kp { img: number; idv: number; bpt: string; gt: [number, number]; pred: [number, number]; score: number }
const kp = (img: number, idv: number, bpt: string, gt: [number, number], pred: [number, number], score: number): Kp => ({ img, idv, bpt, gt, pred, score });

/** test_evaluate_with_pcutoff[_and_unique_bodyparts]: expected = mean of all errors / of those with score >= cutoff. */
function pcutoffCase(keypoints: Kp[], pcutoff: number | number[]) {
  const bodyparts = [...new Set(keypoints.filter((k) => k.idv !== -1).map((k) => k.bpt))].sort();
  const unique = [...new Set(keypoints.filter((k) => k.idv === -1).map((k) => k.bpt))].sort();
  const numIdv = new Set(keypoints.filter((k) => k.idv !== -1).map((k) => k.idv)).size;
  const images = [...new Set(keypoints.map((k) => k.img))];
  const zeros = (n: number, k: number) => Array.from({ length: n }, () => Array.from({ length: k }, () => [0, 0, 0]));
  const gt: Images = new Map(images.map((i) => [`image_${i}`, zeros(numIdv, bodyparts.length)]));
  const pred: Images = new Map(images.map((i) => [`image_${i}`, zeros(numIdv, bodyparts.length)]));
  const ugt: Images = new Map(images.map((i) => [`image_${i}`, zeros(1, unique.length)]));
  const upred: Images = new Map(images.map((i) => [`image_${i}`, zeros(1, unique.length)]));
  const errors: number[] = [];
  const cutErrors: number[] = [];
  for (const k of keypoints) {
    const isUnique = k.idv === -1;
    const b = isUnique ? unique.indexOf(k.bpt) : bodyparts.indexOf(k.bpt);
    const idv = isUnique ? 0 : k.idv;
    (isUnique ? ugt : gt).get(`image_${k.img}`)![idv]![b] = [...k.gt, 2];
    (isUnique ? upred : pred).get(`image_${k.img}`)![idv]![b] = [...k.pred, k.score];
    const cutoff = typeof pcutoff === 'number' ? pcutoff : pcutoff[isUnique ? b + bodyparts.length : b]!;
    const err = Math.hypot(k.gt[0] - k.pred[0], k.gt[1] - k.pred[1]);
    errors.push(err);
    if (k.score >= cutoff) cutErrors.push(err);
  }
  const m = computeMetrics(gt, pred, {
    singleAnimal: numIdv === 1,
    pcutoff,
    ...(unique.length ? { uniqueGroundTruth: ugt, uniquePredictions: upred } : {}),
  });
  return { m, rmse: avg(errors), rmsePcutoff: cutErrors.length ? avg(cutErrors) : NaN };
}

describe('§8.4 test_evaluate_with_pcutoff', () => {
  const sets: Kp[][] = [
    [kp(0, 0, 'a', [10, 10], [11, 10], 0.7), kp(0, 0, 'b', [20, 20], [21, 20], 0.7), kp(0, 0, 'c', [20, 20], [20, 22], 0.5)],
    [
      kp(0, 0, 'a', [10, 10], [11, 10], 0.7), kp(0, 0, 'b', [20, 20], [21, 20], 0.5), kp(0, 0, 'c', [30, 30], [30, 32], 0.2),
      kp(0, 1, 'a', [40, 10], [41, 10], 0.7), kp(0, 1, 'b', [50, 20], [49, 20], 0.5), kp(0, 1, 'c', [60, 20], [58, 20], 0.2),
    ],
  ];
  sets.forEach((set, si) => {
    for (const pcutoff of [0.4, 0.6, 0.8, [0.3, 0.5, 0.7]]) {
      it(`keypoint set ${si}, pcutoff ${JSON.stringify(pcutoff)}`, () => {
        const { m, rmse, rmsePcutoff } = pcutoffCase(set, pcutoff);
        expect(m.rmse).toBeCloseTo(rmse, 10);
        // pcutoff 0.8 keeps nothing: DeepLabCut's test compares NaN with NaN
        if (Number.isNaN(rmsePcutoff)) expect(m.rmse_pcutoff).toBeNaN();
        else expect(m.rmse_pcutoff).toBeCloseTo(rmsePcutoff, 10);
      });
    }
  });
});

describe('§8.4 test_evaluate_with_pcutoff_and_unique_bodyparts', () => {
  const sets: Kp[][] = [
    [
      kp(0, 0, 'a', [10, 10], [11, 10], 0.7), kp(0, 0, 'b', [20, 20], [21, 20], 0.7), kp(0, 0, 'c', [20, 20], [20, 22], 0.5),
      kp(0, -1, 'u1', [20, 20], [20, 22], 0.5), kp(0, -1, 'u2', [20, 20], [20, 22], 0.3),
    ],
    [
      kp(0, 0, 'a', [10, 10], [11, 10], 0.7), kp(0, 0, 'b', [20, 20], [21, 20], 0.5), kp(0, 0, 'c', [30, 30], [30, 32], 0.2),
      kp(0, 1, 'a', [40, 10], [41, 10], 0.7), kp(0, 1, 'b', [50, 20], [49, 20], 0.5), kp(0, 1, 'c', [60, 20], [58, 20], 0.2),
      kp(0, -1, 'u1', [2, 3], [3, 3], 0.7), kp(0, -1, 'u2', [20, 20], [20, 22], 0.9),
    ],
    [
      kp(0, 0, 'a', [8, 13], [11, 10], 0.7), kp(0, 0, 'b', [20, 27], [21, 20], 0.5), kp(0, 0, 'c', [30, 36], [30, 32], 0.2),
      kp(0, -1, 'u1', [2, 3], [3, 3], 0.7), kp(0, -1, 'u2', [20, 20], [20, 22], 0.9),
      kp(1, 0, 'a', [15, 20], [41, 10], 0.7), kp(1, 0, 'b', [20, 12], [49, 20], 0.5), kp(1, 0, 'c', [17, 32], [58, 20], 0.2),
      kp(1, -1, 'u1', [37, 4], [3, 3], 0.7), kp(1, -1, 'u2', [12, 6], [20, 22], 0.9),
    ],
    [
      kp(0, 0, 'a', [8, 13], [11, 10], 0.7), kp(0, 0, 'b', [20, 27], [21, 20], 0.5),
      kp(0, -1, 'u1', [30, 36], [30, 32], 0.2), kp(0, -1, 'u2', [2, 3], [3, 3], 0.7), kp(0, -1, 'u3', [20, 20], [20, 22], 0.9),
      kp(1, 0, 'a', [15, 20], [41, 10], 0.7), kp(1, 0, 'b', [20, 12], [49, 20], 0.5),
      kp(1, -1, 'u1', [17, 32], [58, 20], 0.2), kp(1, -1, 'u2', [37, 4], [3, 3], 0.7), kp(1, -1, 'u3', [12, 6], [20, 22], 0.9),
    ],
  ];
  const cutoffs = [0.4, 0.6, 0.8, [0.3, 0.5, 0.7, 0.4, 0.6], [0.25, 0.43, 0.61, 0.46, 0.92], [0.12, 0.15, 0.92, 0.97, 0.85], [0.92, 0.97, 0.85, 0.12, 0.15]];
  sets.forEach((set, si) => {
    for (const pcutoff of cutoffs) {
      it(`keypoint set ${si}, pcutoff ${JSON.stringify(pcutoff)}`, () => {
        const { m, rmse, rmsePcutoff } = pcutoffCase(set, pcutoff);
        expect(m.rmse).toBeCloseTo(rmse, 10);
        if (Number.isNaN(rmsePcutoff)) {
          expect(m.rmse_pcutoff).toBeNaN();
          expect(m.reasons.rmse_pcutoff).toMatch(/pcutoff/);
        } else expect(m.rmse_pcutoff).toBeCloseTo(rmsePcutoff, 10);
      });
    }
  });
});

interface MetricCase {
  name: string;
  single_animal: boolean;
  pcutoff: number | number[];
  gt: Record<string, (number | null)[][][]>;
  pred: Record<string, (number | null)[][][]>;
  unique_gt: Record<string, (number | null)[][][]> | null;
  unique_pred: Record<string, (number | null)[][][]> | null;
  expected: { rmse: number | null; rmse_pcutoff: number | null; mAP: number; mAR: number; keypoints: Record<string, (number | null)[]> };
  /** DeepLabCut 3.0.1's own compute_metrics on the case (scripts/fixtures/check_metrics_with_deeplabcut.py); its
   * multi-animal results carry no per-keypoint lists. */
  deeplabcut: { rmse: number | null; rmse_pcutoff: number | null; mAP: number; mAR: number; keypoints?: Record<string, (number | null)[]> };
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/runner/metrics.json', import.meta.url), 'utf8')) as {
  oks_thresholds: number[];
  recall_thresholds: number[];
  cases: MetricCase[];
};
const nan = (v: number | null) => (v === null ? NaN : v);
const images = (r: Record<string, (number | null)[][][]>): Map<string, PoseSet> =>
  new Map(Object.entries(r).map(([k, poses]) => [k, poses.map((pose) => pose.map((kp) => kp.map(nan)))]));

/** Same double, or both NaN. The fixture is numpy's arithmetic; we reproduce its summation order. */
function expectSame(actual: number, expected: number | null, what: string): void {
  const e = nan(expected);
  if (Number.isNaN(e)) expect(actual, what).toBeNaN();
  else expect(Math.abs(actual - e), `${what}: ${actual} vs ${e}`).toBeLessThanOrEqual(Math.abs(e) * 4e-16);
}

describe('against DeepLabCut 3.0.1 metrics recomputed with numpy (fixtures/runner/metrics.json)', () => {
  it('OKS and recall thresholds are numpy.linspace, bit for bit', () => {
    expect(OKS_THRESHOLDS).toEqual(fixture.oks_thresholds);
    expect(RECALL_THRESHOLDS).toEqual(fixture.recall_thresholds);
    expect(linspace(0, 1, 101)).toEqual(fixture.recall_thresholds);
  });

  for (const k of fixture.cases) {
    it(k.name, () => {
      const m = computeMetrics(images(k.gt), images(k.pred), {
        singleAnimal: k.single_animal,
        pcutoff: k.pcutoff,
        ...(k.unique_gt && k.unique_pred ? { uniqueGroundTruth: images(k.unique_gt), uniquePredictions: images(k.unique_pred) } : {}),
      });
      expectSame(m.rmse, k.expected.rmse, 'rmse');
      expectSame(m.rmse_pcutoff, k.expected.rmse_pcutoff, 'rmse_pcutoff');
      expectSame(m.mAP, k.expected.mAP, 'mAP');
      expectSame(m.mAR, k.expected.mAR, 'mAR');
      // DeepLabCut's own code, run on the same case.
      for (const key of ['rmse', 'rmse_pcutoff', 'mAP', 'mAR'] as const) expectSame(m[key], k.deeplabcut[key], `DeepLabCut ${key}`);
      for (const [key, exp] of Object.entries(k.deeplabcut.keypoints ?? {})) {
        m.keypoints[key as keyof PoseMetrics['keypoints']].forEach((v, i) => expectSame(v, exp[i] ?? null, `DeepLabCut keypoints.${key}[${i}]`));
      }
      for (const key of ['rmse', 'rmse_pcutoff', 'unique_rmse', 'unique_rmse_pcutoff'] as const) {
        const exp = k.expected.keypoints[key]!;
        expect(m.keypoints[key].length, key).toBe(exp.length);
        m.keypoints[key].forEach((v, i) => expectSame(v, exp[i]!, `${key}[${i}]`));
      }
    });
  }
});

describe('OKS (calc_object_keypoint_similarity)', () => {
  const gt = [[0, 0], [10, 0], [0, 20]];
  it('is 1 for a perfect prediction', () => expect(objectKeypointSimilarity(gt, gt)).toBe(1));
  it('uses the visible-GT bounding-box area with sigma 0.1', () => {
    const pred = [[1, 0], [10, 0], [0, 20]];
    const s2 = (10 + 2.220446049250313e-16) * (20 + 2.220446049250313e-16);
    const expected = (Math.exp(-1 / (2 * s2 * 0.2 * 0.2)) + 2) / 3;
    expect(objectKeypointSimilarity(pred, gt)).toBeCloseTo(expected, 15);
  });
  it('is NaN with fewer than 2 visible GT keypoints', () => expect(objectKeypointSimilarity(gt, [[1, 1], [NaN, NaN], [NaN, NaN]])).toBeNaN());
  it('is NaN when the GT keypoints lie on one horizontal line (zero-height box)', () =>
    expect(objectKeypointSimilarity([[0, 5], [10, 5]], [[0, 5], [10, 5]])).toBeNaN());
  it('counts a NaN prediction as 0 similarity', () => expect(objectKeypointSimilarity([[0, 0], [10, 0], [NaN, NaN]], gt)).toBeCloseTo(2 / 3, 15));
  it('margin widens the box', () => {
    const pred = [[3, 0], [10, 0], [0, 20]];
    expect(objectKeypointSimilarity(pred, gt, 0.1, 5)).toBeGreaterThan(objectKeypointSimilarity(pred, gt));
  });
});

describe('mAP / mAR', () => {
  it('a perfect prediction gives 100 / 100', () => {
    const [gt, pred] = generateData(3, 2, 4, [0, 0, 0, 0]);
    const m = computeOksMetrics(gt, pred);
    expect(m.mAP).toBeCloseTo(100, 10);
    expect(m.mAR).toBeCloseTo(100, 10);
  });

  it('keypoints unlabeled in the GT (visibility 0 or NaN) are ignored', () => {
    const gt = new Map([['a', [[[0, 0, 2], [10, 0, 2], [0, 20, 2], [NaN, NaN, 2], [5, 5, 0]]]]]);
    const pred = new Map([['a', [[[0, 0, 0.9], [10, 0, 0.9], [0, 20, 0.9], [300, 300, 0.9], [400, 400, 0.9]]]]]);
    const m = computeMetrics(gt, pred);
    expect(m.mAP).toBeCloseTo(100, 10);
    expect(m.rmse).toBe(0);
  });
});

describe('reasons for NaN / 0-by-definition metrics', () => {
  const gt = new Map([['a', [[[0, 0, 2], [10, 0, 2], [0, 20, 2]]]]]);

  it('no predictions: mAP and mAR are 0, RMSE NaN', () => {
    const pred = new Map([['a', [[[-1, -1, -1], [-1, -1, -1], [-1, -1, -1]]]]]);
    const m = computeMetrics(gt, pred);
    expect([m.mAP, m.mAR]).toEqual([0, 0]);
    expect(m.rmse).toBeNaN();
    expect(m.reasons.mAP).toMatch(/0 by definition/);
    expect(m.reasons.mAR).toMatch(/0 by definition/);
    expect(m.reasons.rmse).toMatch(/no predictions/);
    expect(m.reasons.rmse_pcutoff).toBeDefined();
  });

  it('no prediction above pcutoff: rmse_pcutoff NaN with the cutoff named', () => {
    const pred = new Map([['a', [[[1, 0, 0.3], [10, 1, 0.2], [0, 20, 0.1]]]]]);
    const m = computeMetrics(gt, pred, { pcutoff: 0.6 });
    expect(m.rmse).toBeCloseTo(2 / 3, 15);
    expect(m.rmse_pcutoff).toBeNaN();
    expect(m.reasons.rmse_pcutoff).toContain('pcutoff (0.6)');
    expect(m.reasons.rmse).toBeUndefined();
  });

  it('no ground truth: RMSE and mAR NaN, mAP 0', () => {
    const empty = new Map([['a', [[[0, 0, 0], [0, 0, 0], [0, 0, 0]]]]]);
    const pred = new Map([['a', [[[1, 0, 0.9], [10, 1, 0.9], [0, 20, 0.9]]]]]);
    const m = computeMetrics(empty, pred);
    expect(m.rmse).toBeNaN();
    expect(m.mAR).toBeNaN();
    expect(m.mAP).toBe(0);
    expect(m.reasons.rmse).toMatch(/no ground truth/);
    expect(m.reasons.mAR).toMatch(/recall is undefined/);
  });

  it('multi-animal matching drops a GT with one labeled keypoint (training-time quirk, §4.1)', () => {
    const one = new Map([['a', [[[0, 0, 2], [0, 0, 0], [0, 0, 0]]]]]);
    const pred = new Map([['a', [[[1, 0, 0.9], [10, 1, 0.9], [0, 20, 0.9]]]]]);
    expect(computeMetrics(one, pred, { singleAnimal: true }).rmse).toBe(1);
    const m = computeMetrics(one, pred, { singleAnimal: false });
    expect(m.rmse).toBeNaN();
    expect(m.reasons.rmse).toMatch(/at least 2 labeled keypoints/);
  });

  it('toDlcResults uses DeepLabCut key names', () => {
    const [g, p] = generateData(1, 1, 2, [5, 10]);
    expect(toDlcResults(computeMetrics(g, p, { singleAnimal: true }), true)).toMatchObject({ rmse: 7.5, rmse_keypoint_0: expect.closeTo(5, 10), rmse_keypoint_1: expect.closeTo(10, 10) });
  });

  it('a pcutoff list must cover bodyparts then unique bodyparts', () => {
    const [g, p] = generateData(1, 1, 2, [5, 10]);
    expect(() => computeRmse(g, p, { pcutoff: [0.1, 0.2, 0.3] })).toThrow(/one per bodypart/);
  });
});

describe('numpy summation', () => {
  it('pairwise summation differs from naive left-to-right where numpy does', () => {
    const a = Array.from({ length: 1010 }, (_, i) => (i % 7 === 0 ? 1e-3 : 0.1 * ((i * 37) % 11)));
    let naive = 0;
    for (const x of a) naive += x;
    expect(Math.abs(pairwiseSum(a) - naive)).toBeLessThan(1e-9);
  });
});
