// A plugin detector for the video tests: three fixed boxes per image (fractions of its size, in distinct
// regions) with scores 0.9, 0.8 and 0.3, so a labeled video draws the first two (above DeepLabCut's
// bboxes_pcutoff 0.6) and not the third, and a project with four individuals gets one row of -1 padding per
// frame. One parameter (a shift, trained towards zero) gives it a state dict and a training loss.
import type * as DG from 'dlc-gpu';

/** (x1, y1, x2, y2) as fractions of the image, and scores: what ThreeBoxDetector detects on every image. */
export const THREE_BOXES = [
  { box: [0.05, 0.05, 0.45, 0.55], score: 0.9 },
  { box: [0.55, 0.1, 0.95, 0.6], score: 0.8 },
  { box: [0.3, 0.55, 0.7, 0.95], score: 0.3 },
];

export default function register(dg: typeof DG): void {
  class ThreeBoxDetector extends dg.nn.Module {
    constructor() {
      super();
      this.registerParameter('shift', dg.zeros([2]));
    }
    async detect(images: readonly DG.Tensor[]) {
      if (this.training) return { losses: { loss_shift: dg.mean(dg.abs(this.param('shift'))) }, detections: [] };
      const [dx, dy] = await this.param('shift').toArray();
      return {
        losses: {},
        detections: images.map((img) => {
          const [, H, W] = img.shape as [number, number, number];
          const boxes = THREE_BOXES.flatMap(({ box: [a, b, c, d] }) => [a! * W + dx!, b! * H + dy!, c! * W + dx!, d! * H + dy!]);
          return { boxes: Float32Array.from(boxes), scores: Float32Array.from(THREE_BOXES.map((t) => t.score)), labels: Int32Array.of(1, 1, 1) };
        }),
      };
    }
  }
  dg.registries.DETECTORS.register('ThreeBoxDetector', () => new ThreeBoxDetector() as unknown as DG.models.Detector, { schema: dg.v.strictObject({}) });
}
