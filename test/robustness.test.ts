// Dawn's shader robustness is dropped on lavapipe only (src/gpu/robustness.ts), because llvmpipe keeps every
// storage-buffer access in bounds itself. These tests hold that reasoning to account on this machine's driver:
// far and near out-of-bounds loads read 0 and stores write nothing, a neighbouring buffer is left alone, and
// the process survives (run in a child process, so that a native crash fails the test instead of the run).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLavapipeVulkan, parseRobustnessSetting } from '../src/gpu/robustness.ts';
import { REPO_ROOT } from './project/openfield.ts';

const info = (description: string, device = '', architecture = '') => ({ description, device, architecture, vendor: '' }) as GPUAdapterInfo;

describe('robustness policy', () => {
  it('is dropped for lavapipe through Vulkan only', () => {
    const lavapipe = info('llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)', 'llvmpipe-llvm-15-0-6-256-bits');
    expect(isLavapipeVulkan(lavapipe, undefined)).toBe(true);
    expect(isLavapipeVulkan(lavapipe, 'vulkan')).toBe(true);
    expect(isLavapipeVulkan(lavapipe, 'opengl')).toBe(false);
    expect(isLavapipeVulkan(info('NVIDIA H100', 'h100', 'hopper'), undefined)).toBe(false);
    expect(isLavapipeVulkan(info('SwiftShader Device (Subzero)', 'swiftshader'), 'vulkan')).toBe(false);
  });

  it('reads DLC_GPU_ROBUSTNESS, naming the variable for a bad value', () => {
    expect(parseRobustnessSetting(undefined)).toBe('auto');
    expect(parseRobustnessSetting('')).toBe('auto');
    expect(parseRobustnessSetting('auto')).toBe('auto');
    expect(parseRobustnessSetting('on')).toBe('on');
    expect(() => parseRobustnessSetting('off')).toThrow(/DLC_GPU_ROBUSTNESS: 'off' is not one of auto, on/);
  });
});

// Writes A[i] for i in [64, 128) and far past the end (i near 2^31 and 2^32), reads A at the same places into R;
// B (allocated right after A) must keep its 7s.
const script = `
import { init } from ${JSON.stringify(join(REPO_ROOT, 'src/index.ts'))};
const e = await init({ device: 'auto' });
const device = e.device;
const code = \`
@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read_write> R: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let near = 64u + g.x;
  let far = 0x7fffffc0u + g.x * 0x1000003u;
  R[g.x] = A[near] + A[far];
  A[near] = 5.0;
  A[far] = 5.0;
}\`;
const pipe = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
const make = (fill) => {
  const b = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
  new Float32Array(b.getMappedRange()).fill(fill);
  b.unmap();
  return b;
};
const a = make(1), b = make(7), r = make(-1);
const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: r } }] });
const enc = device.createCommandEncoder();
const pass = enc.beginComputePass();
pass.setPipeline(pipe); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(1); pass.end();
const reads = [a, b, r].map((src) => {
  const dst = device.createBuffer({ size: 256, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  enc.copyBufferToBuffer(src, 0, dst, 0, 256);
  return dst;
});
device.queue.submit([enc.finish()]);
const out = [];
for (const d of reads) { await d.mapAsync(GPUMapMode.READ); out.push(Array.from(new Float32Array(d.getMappedRange()))); }
process.stdout.write(JSON.stringify({ robust: e.robust, a: out[0], b: out[1], r: out[2] }));
process.exit(0);
`;

function outOfBounds(env: Record<string, string>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: REPO_ROOT, env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { robust: boolean; a: number[]; b: number[]; r: number[] };
}

describe('out-of-bounds accesses on this adapter', () => {
  it.each([['auto'], ['on']])('DLC_GPU_ROBUSTNESS=%s: loads past the end read 0, stores there write nothing, the process lives', (setting) => {
    const o = outOfBounds({ DLC_GPU_ROBUSTNESS: setting });
    expect(o.a).toEqual(new Array(64).fill(1));
    expect(o.b).toEqual(new Array(64).fill(7));
    // Every read was out of bounds (0 + 0); Dawn's robustness would give the same on Vulkan (robustBufferAccess2).
    expect(o.r).toEqual(new Array(64).fill(0));
    if (setting === 'on') expect(o.robust).toBe(true);
  });

  it('robustness is off by default exactly where the adapter is lavapipe on Vulkan', () => {
    const s = `
import { init } from ${JSON.stringify(join(REPO_ROOT, 'src/index.ts'))};
import { isLavapipeVulkan } from ${JSON.stringify(join(REPO_ROOT, 'src/gpu/robustness.ts'))};
const e = await init({ device: 'auto' });
process.stdout.write(JSON.stringify({ robust: e.robust, lavapipe: isLavapipeVulkan(e.adapter.info, process.env.DLC_GPU_BACKEND || undefined) }));
process.exit(0);`;
    const { DLC_GPU_ROBUSTNESS: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', s], { encoding: 'utf8', cwd: REPO_ROOT, env });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout) as { robust: boolean; lavapipe: boolean };
    expect(o.robust).toBe(!o.lavapipe);
  });
});
