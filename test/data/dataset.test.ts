import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bboxFromKeypoints, openProjectData, visibility } from '../../src/data/index.ts';
import { createDataset, readProject } from '../../src/project/index.ts';
import { dotImage, syntheticProject } from './synthetic.ts';

describe('keypoint visibility and boxes (DLCLoader rules)', () => {
  it('visibility is 2 strictly inside the image, else 0', () => {
    expect(visibility(1, 1, 10, 10)).toBe(2);
    expect(visibility(0, 5, 10, 10)).toBe(0);
    expect(visibility(10, 5, 10, 10)).toBe(0);
    expect(visibility(NaN, 5, 10, 10)).toBe(0);
    expect(visibility(5, -1, 10, 10)).toBe(0);
  });

  it('bbox_from_keypoints: visible keypoints only, margin, clipped, xywh', () => {
    const kp = [0, 0, 2, 10, 5, 2];
    expect(bboxFromKeypoints(kp, 0, 2, 100, 100, 0)).toEqual([0, 0, 10, 5]);
    expect(bboxFromKeypoints(kp, 0, 2, 5, 3, 0)).toEqual([0, 0, 5, 3]);
    const two = [[2, 2, 2, 8, 5, 2, 100, 100, 0], [2, 3, 2, 7, 11, 2, 1, 1, -1]];
    expect(two.map((k) => bboxFromKeypoints(k, 0, 3, 100, 100, 2))).toEqual([[0, 0, 10, 7], [0, 1, 9, 12]]);
    expect(two.map((k) => bboxFromKeypoints(k, 0, 3, 10, 10, 2))).toEqual([[0, 0, 10, 7], [0, 1, 9, 9]]);
    expect(bboxFromKeypoints([1, 1, 0, 2, 2, 0], 0, 2, 10, 10, 5)).toEqual([0, 0, 0, 0]);
  });

  // DeepLabCut 3.0.1's own golden vectors (tests/pose_estimation_pytorch/data/test_utils.py, test_bbox_from_keypoints):
  // [keypoints per individual, expected xywh per individual, image width, image height, margin].
  const golden: [number[][][], number[][], number, number, number][] = [
    [[[[0, 0, 2], [10, 5, 2]]], [[0, 0, 10, 5]], 1024, 1024, 0],
    [[[[-1, -1, 2], [3, 4, 2]]], [[0, 0, 3, 4]], 1024, 1024, 0],
    [[[[0, 0, 2], [10, 5, 2]]], [[0, 0, 5, 3]], 5, 3, 0],
    [[[[0, 0, 2], [10, 5, 2]]], [[0, 0, 5, 3]], 5, 3, 10],
    [[[[4, 1, 2], [10, 5, 2], [3, 12, 0]], [[7, 3, 2], [2, 0, -1], [1, 12, 2]]], [[4, 1, 6, 4], [1, 3, 6, 9]], 1024, 1024, 0],
    [[[[4, 1, 2], [10, 5, 2], [3, 12, 0]], [[7, 3, 2], [2, 0, -1], [1, 12, 2]]], [[2, 0, 10, 7], [0, 1, 9, 13]], 1024, 1024, 2],
    [[[[4, 1, 2], [10, 5, 2], [3, 12, 0]], [[7, 3, 2], [2, 0, -1], [1, 12, 2]]], [[2, 0, 8, 7], [0, 1, 9, 9]], 10, 10, 2],
    [[[[4, 1, 2], [10, 5, 2], [3, 12, 0]], [[7, 3, 0], [2, 0, -1], [1, 12, 0]]], [[2, 0, 8, 7], [0, 0, 0, 0]], 10, 10, 2],
  ];
  golden.forEach(([individuals, expected, w, h, margin], i) => {
    it(`bbox_from_keypoints equals DeepLabCut's golden case ${i + 1}`, () => {
      expect(individuals.map((kps) => bboxFromKeypoints(kps.flat(), 0, kps.length, w, h, margin))).toEqual(expected);
    });
  });
});

describe('PoseDataset', () => {
  const pts: [number, number][] = [[10, 12], [20, 30], [70, 5], [NaN, NaN]];
  const config = syntheticProject([
    { name: 'img0.png', image: dotImage(64, 48, []), keypoints: pts },
    { name: 'img1.png', image: dotImage(32, 40, []), keypoints: [[NaN, NaN], [NaN, NaN], [NaN, NaN], [NaN, NaN]] },
    { name: 'img2.png', image: dotImage(64, 48, []), keypoints: [[5, 5], [6, 6], [7, 7], [8, 8]] },
    { name: 'img3.png', image: dotImage(64, 48, []), keypoints: [[5, 5], [6, 6], [7, 7], [8, 8]] },
  ]);

  it('makes one item per image with DLC visibility and bbox_margin boxes', () => {
    const data = openProjectData(config);
    expect(data.splitSource).toBe('default');
    const all = new (data.train.constructor as typeof import('../../src/data/index.ts').PoseDataset)({
      root: data.project.root, labels: data.labels, indices: [0, 1, 2, 3], bboxMargin: 20,
    });
    expect(all.length).toBe(4);
    const s = all.sample(0);
    expect(s.width).toBe(64);
    expect(s.height).toBe(48);
    // (70, 5) is outside the 64-wide image: invisible but kept; NaN becomes (0, 0, 0).
    expect([...s.keypoints]).toEqual([10, 12, 2, 20, 30, 2, 70, 5, 0, 0, 0, 0]);
    expect([...s.boxes]).toEqual([0, 0, 40, 48]);
    expect(s.annotations).toBe(1);
    expect([...s.individualIds]).toEqual([0]);
    // A row with every keypoint unlabeled is an image without annotations (kept, empty slot).
    const empty = all.sample(1);
    expect(empty.width).toBe(32);
    expect(empty.annotations).toBe(0);
    expect([...empty.keypoints].every((v) => v === 0)).toBe(true);
    expect([...empty.individualIds]).toEqual([-1]);
  });

  it('follows the shuffle split written by create-dataset', () => {
    const project = readProject(config);
    const created = createDataset(project, { shuffle: 1, netType: 'resnet_50', trainFraction: 0.5, seed: 7 });
    const fromPose = openProjectData(created.layout.poseConfig);
    expect(fromPose.splitSource).toBe('dlc-gpu');
    expect(fromPose.train.indices).toEqual(created.split.train);
    expect(fromPose.test.indices).toEqual(created.split.test);
    expect(fromPose.project.root).toBe(project.root);
    const fromProject = openProjectData(config);
    expect(fromProject.configPath).toBe(created.layout.poseConfig);
    expect(fromProject.train.indices).toEqual(created.split.train);
    expect(fromPose.train.imagePath(0)).toBe(join(project.root, ...fromPose.labels.frames[created.split.train[0]!]!.path));
  });
});
