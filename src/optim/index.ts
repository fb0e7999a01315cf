export * from './optimizer.ts';
export * from './rules.ts';
export * from './clip.ts';
