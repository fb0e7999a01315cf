// Scalar building blocks shared by every config block, so each rule is stated once.
import * as v from 'valibot';

export const int = v.pipe(v.number(), v.integer());
export const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
export const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
export const nonNegative = v.pipe(v.number(), v.minValue(0));
export const probability = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
export const numberPair = v.tuple([v.number(), v.number()]);
export const nullableString = v.nullable(v.string());

/** Free-form mapping for blocks whose keys are forwarded to a constructor we do not model. */
export const freeMapping = v.record(v.string(), v.unknown());
