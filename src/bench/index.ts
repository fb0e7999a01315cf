// dlc-gpu/bench: the benchmark harness the project's own benches use, for users' kernels and layers.
export * from './harness.ts';
