// Detector metrics against pycocotools' COCOeval as DeepLabCut calls it (scripts/fixtures/make_bbox_metric_fixtures.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeBboxMetrics, type BboxImage, type BboxMetrics } from '../../src/runner/metrics/bbox.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/bbox_metrics.json', import.meta.url), 'utf8')) as {
  cases: Record<string, { images: BboxImage[]; metrics: BboxMetrics }>;
};

describe('COCO bbox metrics (DeepLabCut compute_bbox_metrics)', () => {
  it.each(Object.entries(fixture.cases))('%s', (_, { images, metrics }) => {
    const ours = computeBboxMetrics(images);
    for (const [k, v] of Object.entries(metrics)) expect(ours[k as keyof BboxMetrics], k).toBeCloseTo(v, 9);
  });

  it('refuses detections without a score each', () => {
    expect(() => computeBboxMetrics([{ gt: [[0, 0, 1, 1]], dets: [[0, 0, 1, 1]], scores: [] }])).toThrow('image 0: 1 detections but 0 scores');
  });
});
