// A dlc-gpu plugin: CoordConvHeatmapHead, DeepLabCut's HeatmapHead with a CoordConv block in front.
// The block appends coordinate channels to the backbone's features (AddCoords, its own WGSL kernel and
// backward, in add-coords.wgsl) and adds a 1x1 convolution of them back onto the features:
//   heads = HeatmapHead(features + conv1x1(addCoords(features)))
// The convolution starts at zero, so an untrained block leaves the head exactly a HeatmapHead and a
// DeepLabCut snapshot's head weights still mean what they meant. Config keys (besides HeatmapHead's):
//   with_radius: false   also append the distance from the centre
//   zero_init: true      start the 1x1 convolution at zero (false: PyTorch's default init)
// Load it with `plugins: [path/to/coord-conv.ts]` in pytorch_config.yaml, or `--plugin path/to/coord-conv.ts`.
import { readFileSync } from 'node:fs';
import type * as DG from 'dlc-gpu';

type Dg = typeof DG;
type Tensor = DG.Tensor;

const WGSL = readFileSync(new URL('./add-coords.wgsl', import.meta.url), 'utf8');
const WG = 64;
const MAX_GROUPS = 65535;

/** Workgroups for n invocations on a 2-D grid (a grid dimension holds at most 65535). */
function grid(n: number): [number, number] {
  const groups = Math.ceil(n / WG);
  return [Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS)];
}

export interface AddCoordsOptions {
  withRadius?: boolean;
}

export interface CoordConvOptions {
  /** Move vec4s when a channel plane's size allows (default true; false forces the scalar path, for tests and benches). */
  vectorized?: boolean;
}

/** Builds the layer on a dlc-gpu API object: the plugin loader passes the CLI's own, tests pass theirs. */
export function createCoordConv(dg: Dg, layerOptions: CoordConvOptions = {}) {
  const forwardKernel = dg.defineKernel('add_coords', WGSL, 'forward');
  const backwardKernel = dg.kernel('add_coords', 'backward');
  /** Launches `spec` over `out` (elements, or vec4s when each H x W plane holds whole vec4s). */
  const launch = (spec: DG.KernelSpec, x: Tensor, input: Tensor, out: Tensor, radius: boolean) => {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const vec4 = (layerOptions.vectorized ?? true) && (H * W) % 4 === 0;
    const n = vec4 ? out.size / 4 : out.size;
    if (n === 0) return;
    const u = new dg.Uniforms().u32(B).u32(C).u32(H).u32(W).u32(n);
    dg.engine().dispatch(spec, grid(n), [input.buffer, out.buffer], u, { RADIUS: radius ? 1 : 0, VEC4: vec4 ? 1 : 0 });
  };

  /** x [B, C, H, W] -> [B, C + 2 (+1 with withRadius), H, W]: x, then x and y coordinates in [-1, 1]. */
  const addCoords = dg.defineOp<AddCoordsOptions | undefined>({
    name: 'addCoords',
    forward([x], ctx) {
      if (x!.shape.length !== 4) throw new Error(`addCoords: expected [B, C, H, W], got [${x!.shape.join(', ')}]`);
      const [B, C, H, W] = x!.shape as [number, number, number, number];
      const radius = ctx.options?.withRadius ?? false;
      const out = dg.Tensor.empty([B, C + (radius ? 3 : 2), H, W]);
      launch(forwardKernel, x!, x!, out, radius);
      return out;
    },
    backward(grad, { inputs: [x], options }) {
      const dx = dg.Tensor.empty(x!.shape);
      launch(backwardKernel, x!, grad, dx, options?.withRadius ?? false);
      return [dx];
    },
  });

  const { DeconvModule } = dg.models;
  type DeconvConfig = DG.models.DeconvConfig;

  class CoordConvHeatmapHead extends dg.nn.Module implements DG.models.PoseHead {
    readonly stride: number;
    readonly withRadius: boolean;
    constructor(cfg: DG.TypedBlock, ctx: { inChannels: number; seed: number }) {
      super();
      this.withRadius = cfg.with_radius === true;
      const extra = this.withRadius ? 3 : 2;
      const conv = this.registerModule('coord_conv', new dg.nn.Conv2d(ctx.inChannels + extra, ctx.inChannels, 1, { seed: ctx.seed + 7 }));
      if (cfg.zero_init !== false) for (const [, p] of conv.namedParameters()) p.assign(dg.zeros(p.shape));
      // HeatmapHead's children and names, so its weights load from a DeepLabCut snapshot's head.
      const heatmap = this.registerModule('heatmap_head', new DeconvModule(cfg.heatmap_config as DeconvConfig, ctx.seed));
      if (cfg.locref_config) this.registerModule('locref_head', new DeconvModule(cfg.locref_config as DeconvConfig, ctx.seed + 1000));
      this.stride = heatmap.stride;
    }
    forward(features: Tensor): Record<string, Tensor> {
      const conv = this.child('coord_conv') as DG.nn.Conv2d;
      const x = dg.add(features, conv.forward(addCoords([features], { withRadius: this.withRadius })));
      const out: Record<string, Tensor> = { heatmap: (this.child('heatmap_head') as DG.nn.Layer).forward(x) };
      const locref = this.child('locref_head') as DG.nn.Layer | undefined;
      if (locref) out.locref = locref.forward(x);
      return out;
    }
  }

  /** The head's own keys; HeatmapHead's (heatmap_config, locref_config) are checked by the config's head schema. */
  const schema = dg.v.strictObject({
    with_radius: dg.v.optional(dg.v.boolean(), false),
    zero_init: dg.v.optional(dg.v.boolean(), true),
    weight_init: dg.v.optional(dg.v.nullable(dg.v.string())),
    heatmap_config: dg.v.unknown(),
    locref_config: dg.v.optional(dg.v.unknown()),
  });

  return { addCoords, CoordConvHeatmapHead, schema };
}

/** The plugin entry point: the loader calls it with the dlc-gpu API it runs on. */
export default function register(dg: Dg): void {
  const { CoordConvHeatmapHead, schema } = createCoordConv(dg);
  dg.registries.HEADS.register('CoordConvHeatmapHead', (cfg, ctx) => new CoordConvHeatmapHead(cfg, ctx), { schema });
}
