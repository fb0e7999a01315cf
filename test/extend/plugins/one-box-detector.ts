// A plugin detector for the tests: one learnable box per image (sigmoid of four parameters, x1/y1 in the image's
// left/top half and x2/y2 in its right/bottom half), trained by L1 to each image's first target box, detected
// with score 0.9. Small and deterministic, so runner and CLI tests exercise the detector paths in seconds.
import type * as DG from 'dlc-gpu';

export default function register(dg: typeof DG): void {
  class OneBoxDetector extends dg.nn.Module {
    constructor(seed: number) {
      super();
      this.registerParameter('box', dg.mulScalar(dg.randn([4], { seed }), 0.1));
    }
    private predicted(image: DG.Tensor): DG.Tensor {
      const [, H, W] = image.shape as [number, number, number];
      const r = dg.sigmoid(this.param('box'));
      return dg.add(dg.mul(r, dg.tensor([W / 2, H / 2, W / 2, H / 2], [4])), dg.tensor([0, 0, W / 2, H / 2], [4]));
    }
    async detect(images: readonly DG.Tensor[], targets?: readonly { boxes: DG.Tensor; labels: Int32Array }[]) {
      if (this.training) {
        if (!targets) throw new Error('OneBoxDetector: training needs targets');
        const terms = images.flatMap((img, i) => (targets[i]!.boxes.shape[0] ? [dg.mean(dg.abs(dg.sub(this.predicted(img), dg.reshape(dg.slice(targets[i]!.boxes, [[0, 1]]), [4]))))] : []));
        const loss = terms.slice(1).reduce((a, b) => dg.add(a, b), terms[0] ?? dg.zeros([]));
        return { losses: { loss_box: dg.mulScalar(loss, 1 / Math.max(1, terms.length)) }, detections: [] };
      }
      const detections = [];
      for (const img of images) detections.push({ boxes: await this.predicted(img).toArray(), scores: Float32Array.of(0.9), labels: Int32Array.of(1) });
      return { losses: {}, detections };
    }
  }
  dg.registries.DETECTORS.register('OneBoxDetector', (_, { seed }) => new OneBoxDetector(seed) as unknown as DG.models.Detector, { schema: dg.v.strictObject({}) });
}
