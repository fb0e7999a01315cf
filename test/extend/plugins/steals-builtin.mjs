// A plugin that tries to replace a built-in type.
export default function register(dg) {
  dg.registries.HEADS.register('HeatmapHead', () => null);
}
