// torchvision's anchor generators (models/detection/anchor_utils.py): AnchorGenerator (Faster R-CNN's RPN)
// and DefaultBoxGenerator (SSD). Anchors depend only on the padded batch size and the feature-map sizes, so
// they are computed on the host in float32 exactly as torchvision rounds them, uploaded once and cached by
// shape. Boxes are (x1, y1, x2, y2) in the padded batch's pixels, one row per anchor.
import { tensor } from '../../ops/creation.ts';
import { keep } from '../../tensor/scope.ts';
import type { Tensor } from '../../tensor/tensor.ts';

const f32 = Math.fround;

/** torch.round: to nearest, ties to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

type Size2 = readonly [number, number];

function checkSize(s: readonly number[], what: string, op: string): void {
  if (s.length !== 2 || !s.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${op}: ${what} must be [height, width] of positive integers, got [${s.join(', ')}]`);
}

/** Grid sizes [h, w] of feature maps [N, C, h, w]. */
function gridsOf(featureMaps: readonly Tensor[], op: string): Size2[] {
  return featureMaps.map((t, i) => {
    if (t.rank < 2) throw new Error(`${op}: feature map ${i} must be [..., h, w], got [${t.shape.join(', ')}]`);
    return [t.shape[t.rank - 2]!, t.shape[t.rank - 1]!] as const;
  });
}

/**
 * Uploaded anchors by shape key, owned here (kept out of every tidy/scope). The oldest entries go past
 * `limit` distinct shapes (Faster R-CNN's padded batch size changes with each batch's resize).
 */
class ShapeCache {
  private readonly entries = new Map<string, Tensor>();
  constructor(private readonly limit = 8) {}
  get(key: string, make: () => { data: Float32Array; rows: number }): Tensor {
    const hit = this.entries.get(key);
    if (hit && !hit.disposed) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const { data, rows } = make();
    const t = keep(tensor(data, [rows, 4]));
    this.entries.set(key, t);
    for (const [k, old] of this.entries) {
      if (this.entries.size <= this.limit) break;
      old.dispose();
      this.entries.delete(k);
    }
    return t;
  }
  dispose(): void {
    for (const t of this.entries.values()) t.dispose();
    this.entries.clear();
  }
}

/**
 * torchvision's AnchorGenerator(sizes, aspect_ratios): per feature map i, sizes[i] x aspect_ratios[i] anchors per
 * location (ratio = height / width), ratio-major. Base anchors [-ws, -hs, ws, hs] / 2 with hs = sqrt(ar) s,
 * ws = s / sqrt(ar), rounded (ties to even); stride = padded image size // grid size (integer division);
 * anchors at shifts arange(grid) * stride (the cell's top-left corner), location-major, levels concatenated.
 * A flat `sizes` means one size per map; a flat `aspectRatios` is used for every map (as torchvision).
 */
export class AnchorGenerator {
  readonly sizes: number[][];
  readonly aspectRatios: number[][];
  /** Per map, the base anchors [A * 4] (torchvision's cell_anchors, float32 values). */
  readonly cellAnchors: Float32Array[];
  private readonly cache = new ShapeCache();

  constructor(sizes: readonly (readonly number[])[] | readonly number[] = [[128, 256, 512]], aspectRatios: readonly (readonly number[])[] | readonly number[] = [[0.5, 1, 2]]) {
    const nested = <T>(v: readonly (T | readonly T[])[]): v is readonly (readonly T[])[] => v.length > 0 && Array.isArray(v[0]);
    this.sizes = nested(sizes) ? sizes.map((s) => [...s]) : (sizes as readonly number[]).map((s) => [s]);
    this.aspectRatios = nested(aspectRatios) ? aspectRatios.map((r) => [...r]) : this.sizes.map(() => [...(aspectRatios as readonly number[])]);
    if (!this.sizes.length) throw new Error('AnchorGenerator: sizes is empty');
    if (this.sizes.length !== this.aspectRatios.length)
      throw new Error(`AnchorGenerator: ${this.sizes.length} size tuples but ${this.aspectRatios.length} aspect-ratio tuples (one per feature map each)`);
    for (const s of this.sizes.flat()) if (!(s > 0)) throw new Error(`AnchorGenerator: sizes must be > 0, got ${s}`);
    for (const r of this.aspectRatios.flat()) if (!(r > 0)) throw new Error(`AnchorGenerator: aspect ratios must be > 0, got ${r}`);
    this.cellAnchors = this.sizes.map((s, i) => AnchorGenerator.baseAnchors(s, this.aspectRatios[i]!));
  }

  /** generate_anchors in float32: zero-centred [x1, y1, x2, y2] per (ratio, size), rounded. */
  static baseAnchors(scales: readonly number[], aspectRatios: readonly number[]): Float32Array {
    const out = new Float32Array(scales.length * aspectRatios.length * 4);
    let o = 0;
    for (const ar of aspectRatios) {
      const h = f32(Math.sqrt(f32(ar)));
      const w = f32(1 / h);
      for (const s of scales) {
        const ws = f32(w * f32(s));
        const hs = f32(h * f32(s));
        for (const v of [-ws, -hs, ws, hs]) out[o++] = roundHalfEven(f32(v / 2));
      }
    }
    return out;
  }

  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, i) => s.length * this.aspectRatios[i]!.length);
  }

  /** The anchors of one image of a padded batch [H, W] with feature maps of `grids` [h, w], on the host: [rows * 4]. */
  anchorsHost(imageSize: readonly number[], grids: readonly (readonly number[])[]): Float32Array {
    checkSize(imageSize, 'imageSize', 'AnchorGenerator');
    if (grids.length !== this.cellAnchors.length)
      throw new Error(
        `AnchorGenerator: ${grids.length} feature maps but ${this.cellAnchors.length} size / aspect-ratio tuples: there must be one per feature map`,
      );
    let total = 0;
    grids.forEach((g, i) => {
      checkSize(g, `grid ${i}`, 'AnchorGenerator');
      total += g[0]! * g[1]! * this.cellAnchors[i]!.length;
    });
    const out = new Float32Array(total);
    let o = 0;
    grids.forEach(([gh, gw], i) => {
      const base = this.cellAnchors[i]!;
      const sy = Math.floor(imageSize[0]! / gh!);
      const sx = Math.floor(imageSize[1]! / gw!);
      for (let y = 0; y < gh!; y++) {
        for (let x = 0; x < gw!; x++) {
          const px = x * sx;
          const py = y * sy;
          for (let a = 0; a < base.length; a += 4) {
            out[o++] = px + base[a]!;
            out[o++] = py + base[a + 1]!;
            out[o++] = px + base[a + 2]!;
            out[o++] = py + base[a + 3]!;
          }
        }
      }
    });
    return out;
  }

  /**
   * torchvision's forward for a padded batch of size imageSize [H, W]: the anchors [rows, 4] of every image
   * (torchvision returns one equal copy per image). The tensor is cached and owned by the generator: do not
   * dispose it; `dispose()` releases the cache.
   */
  forward(imageSize: readonly number[], featureMaps: readonly Tensor[]): Tensor {
    return this.anchors(imageSize, gridsOf(featureMaps, 'AnchorGenerator'));
  }

  /** As `forward`, from the grid sizes. */
  anchors(imageSize: readonly number[], grids: readonly (readonly number[])[]): Tensor {
    const key = `${imageSize.join('x')}|${grids.map((g) => g.join('x')).join(',')}`;
    return this.cache.get(key, () => {
      const data = this.anchorsHost(imageSize, grids);
      return { data, rows: data.length / 4 };
    });
  }

  dispose(): void {
    this.cache.dispose();
  }
}

export interface DefaultBoxOptions {
  /** s_min when `scales` is not given (default 0.15). */
  minRatio?: number;
  /** s_max when `scales` is not given (default 0.9). */
  maxRatio?: number;
  /** One more than the feature maps (the last only forms s'_k of the last map). */
  scales?: readonly number[];
  /** Per map, the image size divided by it replaces the grid size in the centres (SSD300's tiling). */
  steps?: readonly number[];
  /** Clamp widths and heights to [0, 1] before converting to corners (default true). */
  clip?: boolean;
}

/**
 * torchvision's DefaultBoxGenerator (SSD, page 6 of the paper). Scales s_k = min + (max - min) k / (m - 1)
 * plus 1.0 (or [min, max] for one map); per location: (s_k, s_k), (s'_k, s'_k) with s'_k = sqrt(s_k s_k+1),
 * and per aspect ratio (s_k sqrt(ar), s_k / sqrt(ar)) and its swap, so 2 + 2 * ratios boxes. Centres
 * ((j + 0.5) / f_k, (i + 0.5) / f_k), location-major; (cx, cy, w, h) -> corners in pixels of the image.
 */
export class DefaultBoxGenerator {
  readonly aspectRatios: number[][];
  readonly scales: number[];
  readonly steps: number[] | null;
  readonly clip: boolean;
  /** Per map, the (w, h) pairs [A * 2] in float32 (torchvision's _wh_pairs, before clipping). */
  readonly whPairs: Float32Array[];
  private readonly cache = new ShapeCache();

  constructor(aspectRatios: readonly (readonly number[])[], opts: DefaultBoxOptions = {}) {
    const m = aspectRatios.length;
    if (!m) throw new Error('DefaultBoxGenerator: aspectRatios is empty (one list per feature map)');
    for (const r of aspectRatios.flat()) if (!(r > 0)) throw new Error(`DefaultBoxGenerator: aspect ratios must be > 0, got ${r}`);
    if (opts.steps && opts.steps.length !== m) throw new Error(`DefaultBoxGenerator: aspectRatios and steps should have the same length (${m} and ${opts.steps.length})`);
    this.aspectRatios = aspectRatios.map((r) => [...r]);
    this.steps = opts.steps ? [...opts.steps] : null;
    this.clip = opts.clip ?? true;
    if (opts.scales) {
      this.scales = [...opts.scales];
      if (this.scales.length < m + 1) throw new Error(`DefaultBoxGenerator: scales needs ${m + 1} values for ${m} feature maps, got ${this.scales.length}`);
    } else {
      const min = opts.minRatio ?? 0.15;
      const max = opts.maxRatio ?? 0.9;
      const range = max - min;
      this.scales = m > 1 ? [...Array.from({ length: m }, (_, k) => min + (range * k) / (m - 1)), 1] : [min, max];
    }
    this.whPairs = this.aspectRatios.map((ratios, k) => {
      const s = this.scales[k]!;
      const sPrime = Math.sqrt(s * this.scales[k + 1]!);
      const pairs = [s, s, sPrime, sPrime];
      for (const ar of ratios) {
        const sq = Math.sqrt(ar);
        const w = s * sq;
        const h = s / sq;
        pairs.push(w, h, h, w);
      }
      return Float32Array.from(pairs);
    });
  }

  numAnchorsPerLocation(): number[] {
    return this.aspectRatios.map((r) => 2 + 2 * r.length);
  }

  /** The boxes of an image of size [H, W] with feature maps of `grids` [h, w], on the host: [rows * 4]. */
  boxesHost(imageSize: readonly number[], grids: readonly (readonly number[])[]): Float32Array {
    checkSize(imageSize, 'imageSize', 'DefaultBoxGenerator');
    if (grids.length !== this.aspectRatios.length) throw new Error(`DefaultBoxGenerator: ${grids.length} feature maps but ${this.aspectRatios.length} aspect-ratio lists`);
    let total = 0;
    grids.forEach((g, k) => {
      checkSize(g, `grid ${k}`, 'DefaultBoxGenerator');
      total += g[0]! * g[1]! * this.whPairs[k]!.length * 2;
    });
    const [H, W] = [imageSize[0]!, imageSize[1]!];
    const out = new Float32Array(total);
    let o = 0;
    grids.forEach(([gh, gw], k) => {
      const yf = f32(this.steps ? H / this.steps[k]! : gh!);
      const xf = f32(this.steps ? W / this.steps[k]! : gw!);
      const clamp = (v: number) => (this.clip ? Math.min(1, Math.max(0, v)) : v);
      const wh = this.whPairs[k]!.map(clamp);
      for (let i = 0; i < gh!; i++) {
        const cy = f32(f32(i + 0.5) / yf);
        for (let j = 0; j < gw!; j++) {
          const cx = f32(f32(j + 0.5) / xf);
          for (let a = 0; a < wh.length; a += 2) {
            const hw = f32(0.5 * wh[a]!);
            const hh = f32(0.5 * wh[a + 1]!);
            out[o++] = f32(f32(cx - hw) * W);
            out[o++] = f32(f32(cy - hh) * H);
            out[o++] = f32(f32(cx + hw) * W);
            out[o++] = f32(f32(cy + hh) * H);
          }
        }
      }
    });
    return out;
  }

  /**
   * torchvision's forward for images of size imageSize [H, W] (SSD: the transform's fixed size): the boxes
   * [rows, 4] of every image. Cached and owned by the generator, as AnchorGenerator.forward.
   */
  forward(imageSize: readonly number[], featureMaps: readonly Tensor[]): Tensor {
    return this.boxes(imageSize, gridsOf(featureMaps, 'DefaultBoxGenerator'));
  }

  /** As `forward`, from the grid sizes. */
  boxes(imageSize: readonly number[], grids: readonly (readonly number[])[]): Tensor {
    const key = `${imageSize.join('x')}|${grids.map((g) => g.join('x')).join(',')}`;
    return this.cache.get(key, () => {
      const data = this.boxesHost(imageSize, grids);
      return { data, rows: data.length / 4 };
    });
  }

  dispose(): void {
    this.cache.dispose();
  }
}

/** fasterrcnn_mobilenet_v3_large_fpn's RPN anchors: sizes (32, 64, 128, 256, 512) x ratios (0.5, 1, 2) on each of 3 maps (15 per location). */
export function fasterrcnnMobileNetV3AnchorGenerator(): AnchorGenerator {
  const sizes = [32, 64, 128, 256, 512];
  return new AnchorGenerator([sizes, sizes, sizes], [[0.5, 1, 2], [0.5, 1, 2], [0.5, 1, 2]]);
}

/** fasterrcnn_resnet50_fpn (v1 and v2): one size per FPN level (32 ... 512) x ratios (0.5, 1, 2) (3 per location). */
export function fasterrcnnResnet50FpnAnchorGenerator(): AnchorGenerator {
  return new AnchorGenerator([[32], [64], [128], [256], [512]], [0.5, 1, 2]);
}

/** ssdlite320_mobilenet_v3_large's default boxes: ratios [2, 3] on 6 maps, scales 0.2 ... 0.95 (6 per location). */
export function ssdlite320DefaultBoxGenerator(): DefaultBoxGenerator {
  return new DefaultBoxGenerator(Array.from({ length: 6 }, () => [2, 3]), { minRatio: 0.2, maxRatio: 0.95 });
}
