export * from './module.ts';
export * from './layers.ts';
export * as init from './init.ts';
export * from './conv-layers.ts';
export * from './norm-layers.ts';
export * from './frozen-batch-norm.ts';
export * from './conv-norm.ts';
export * from './fold-norm.ts';
