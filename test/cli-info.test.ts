// `dlc-gpu info` through the real binary: it reports the adapter, and fails clearly without one.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWithFileStderr } from './helpers/stderr.ts';
import { REPO_ROOT } from './project/openfield.ts';

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin/dlc-gpu.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('dlc-gpu info', () => {
  it('prints the adapter, features and limits', () => {
    const r = cli(['info']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^adapter: +\S/m);
    expect(r.stdout).toMatch(/maxStorageBufferBindingSize +\d+/);
    expect(r.stdout).toMatch(/features: /);
    expect(r.stdout).toMatch(/^robustness: +(on|off) \(/m);
  });

  it("prints nothing on stderr: Dawn's adapter-limit notices are filtered out", () => {
    // stderr a file, as with a shell's 2>file (a socket, Node's own pipe, cannot be filtered).
    const r = runWithFileStderr([join(REPO_ROOT, 'bin/dlc-gpu.js'), 'info']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^adapter: /);
    expect(r.stderr).toBe('');
  });

  it("lists the model types a config can name, a plugin's marked as such", () => {
    const plugin = join(REPO_ROOT, 'examples/custom-layer/coord-conv.ts');
    const r = cli(['info', '--json', '--plugin', plugin]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.types.BACKBONES).toEqual(['HRNet', 'ResNet']);
    expect(report.types.DETECTORS).toContain('SSDLite');
    expect(report.types.HEADS).toEqual(['CoordConvHeatmapHead', 'HeatmapHead']);
    expect(report.plugins).toEqual([{ path: plugin, types: ['HEADS:CoordConvHeatmapHead'] }]);
    const text = cli(['info', '--plugin', plugin]);
    expect(text.stdout).toMatch(/^ {2}HEADS +CoordConvHeatmapHead \(plugin .*coord-conv\.ts\), HeatmapHead$/m);
    expect(cli(['info']).stdout).toMatch(/^ {2}HEADS +HeatmapHead$/m);
  });

  it('--json gives a machine-readable report', () => {
    const r = cli(['info', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThan(0);
    expect(Array.isArray(report.features)).toBe(true);
  });

  it('with a Dawn backend that does not exist here, says what to install and exits 1 without a stack trace', () => {
    const r = cli(['info'], { DLC_GPU_BACKEND: 'd3d12' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No WebGPU adapter was found with Dawn backend 'd3d12'/);
    expect(r.stderr).toMatch(/mesa-vulkan-drivers/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('device: cuda on a machine without a hardware GPU lists the adapters found', () => {
    const r = cli(['info', '--json']);
    const software = JSON.parse(r.stdout).software as boolean;
    const cuda = cli(['info', '--device', 'cuda']);
    if (software) {
      expect(cuda.code).toBe(1);
      expect(cuda.stderr).toMatch(/requires a hardware GPU, but none was found. Adapters found:\n {2}- /);
    } else {
      expect(cuda.code, cuda.stderr).toBe(0);
    }
  });

  it('rejects an unknown device value and unknown options', () => {
    expect(cli(['info', '--device', 'tpu']).stderr).toMatch(/device: 'tpu' is not one of auto, cpu, cuda, mps, gpu/);
    expect(cli(['info', '--bogus']).code).toBe(2);
  });

  it('--help and unknown commands', () => {
    expect(cli(['info', '--help']).stdout).toMatch(/Usage: dlc-gpu info/);
    const unknown = cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
