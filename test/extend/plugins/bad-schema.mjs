// A plugin whose schema is not a valibot schema (a plain object of "types").
export default function register(dg) {
  dg.registries.HEADS.register('SloppyHead', () => null, { schema: { with_radius: 'boolean' } });
}
