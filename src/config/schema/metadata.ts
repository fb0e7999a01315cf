// The `metadata` block: project facts copied from the project's config.yaml when the file is made.
import * as v from 'valibot';

const names = v.array(v.pipe(v.string(), v.minLength(1)));

export const MetadataSchema = v.strictObject({
  project_path: v.string(),
  pose_config_path: v.string(),
  bodyparts: v.pipe(names, v.minLength(1)),
  unique_bodyparts: v.optional(names, []),
  individuals: v.optional(v.pipe(names, v.minLength(1)), ['individual_1']),
  with_identity: v.optional(v.nullable(v.boolean()), null),
});

/** Keys DeepLabCut also accepts under their project-config spelling. */
export const METADATA_ALIASES: Record<string, string> = {
  uniquebodyparts: 'unique_bodyparts',
  identity: 'with_identity',
};

export type Metadata = v.InferOutput<typeof MetadataSchema>;
