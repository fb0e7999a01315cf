// dlc-gpu analyze-videos end to end on a short lossless clip of openfield frames (decoded pixels equal
// the PNGs): the .h5 DeepLabCut writes (read back by h5wasm, and by pandas when present) holds exactly
// the keypoints `predict` gives on the same frames; the CSV's header rows; _meta.pickle's keys; cropping;
// a bad video among good ones; existing results kept unless --overwrite.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrameH5 } from '../../src/io/hdf5-dataframe.ts';
import { unpickle } from '../../src/io/pickle.ts';
import { HAS_OPENFIELD } from '../project/openfield.ts';
import { useGpu } from '../helpers/gpu.ts';
import { cleanup, cli, cliAsync, openfieldClip, projectWithSnapshot } from './helpers.ts';
import { HAS_PANDAS, python } from './python.ts';

useGpu();
afterAll(cleanup);

const SCORER = 'DLC_Resnet50_openfieldOct30shuffle1_snapshot_001';
const BODYPARTS = ['snout', 'leftear', 'rightear', 'tailbase'];

/** predict's CSV rows as numbers (x, y, likelihood per bodypart), in image order. */
function predictRows(csv: string): number[][] {
  return readFileSync(csv, 'utf8').trim().split('\n').slice(3).map((l) => l.split(',').slice(1).map(Number));
}

describe.skipIf(!HAS_OPENFIELD)('dlc-gpu analyze-videos', () => {
  let project: Awaited<ReturnType<typeof projectWithSnapshot>>;
  let clip: string;
  let pngs: string[];

  beforeAll(async () => {
    project = await projectWithSnapshot();
    ({ clip, pngs } = openfieldClip(join(project.dir, 'videos'), 'clip', 6));
  }, 120_000);

  it('writes the .h5, .csv and _meta.pickle DeepLabCut writes, with the keypoints predict gives', async () => {
    const r = cli('analyze-videos', project.config, clip, '--batch-size', '4', '--save-as-csv');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`Scorer: ${SCORER}`);
    const base = join(project.dir, 'videos', `clip${SCORER}`);
    const frame = await readFrameH5(`${base}.h5`, 'df_with_missing');
    expect(frame.levelNames).toEqual(['scorer', 'bodyparts', 'coords']);
    expect(frame.columns).toEqual(BODYPARTS.flatMap((bp) => ['x', 'y', 'likelihood'].map((c) => [SCORER, bp, c])));
    expect(frame.index).toEqual([0, 1, 2, 3, 4, 5]);

    // predict on the same frames (as PNGs), one image at a time.
    const out = join(project.dir, 'predicted');
    const p = cli('predict', project.train, join(project.dir, 'videos', 'clip-frames'), '--out', out);
    expect(p.code, p.stderr).toBe(0);
    const expected = predictRows(join(out, `image_predictions_${SCORER}.csv`));
    expect(expected).toHaveLength(6);
    const got = Array.from({ length: 6 }, (_, f) => [...frame.values.subarray(f * 12, (f + 1) * 12)]);
    // Batches of 4 (the last one of 2) give exactly what single images give.
    expect(got).toEqual(expected);
    // Keypoints differ between frames: the model ran on each frame's pixels.
    expect(new Set(got.map((r) => r.join())).size).toBeGreaterThan(1);

    const csv = readFileSync(`${base}.csv`, 'utf8').split('\n');
    expect(csv[0]).toBe(['scorer', ...Array(12).fill(SCORER)].join(','));
    expect(csv[1]).toBe(['bodyparts', ...BODYPARTS.flatMap((b) => [b, b, b])].join(','));
    expect(csv[2]).toBe(['coords', ...Array(4).fill('x,y,likelihood')].join(','));
    expect(csv.slice(3, 9).map((l) => l.split(',').map(Number))).toEqual(got.map((row, f) => [f, ...row]));
    expect(csv[9]).toBe('');

    const meta = unpickle(readFileSync(`${base}_meta.pickle`)) as Map<string, Map<string, unknown>>;
    const data = meta.get('data')!;
    expect([...data.keys()]).toEqual([
      'start', 'stop', 'run_duration', 'Scorer', 'pytorch-config', 'fps', 'batch_size', 'frame_dimensions', 'nframes',
      'iteration (active-learning)', 'training set fraction', 'cropping', 'cropping_parameters', 'individuals', 'bodyparts', 'unique_bodyparts',
    ]);
    expect(data.get('Scorer')).toBe(SCORER);
    expect(data.get('fps')).toBe(30);
    expect(data.get('batch_size')).toBe(4);
    expect(data.get('frame_dimensions')).toEqual([160, 120]);
    expect(data.get('nframes')).toBe(6);
    expect(data.get('training set fraction')).toBe(0.95);
    expect(data.get('cropping')).toBe(false);
    expect(data.get('cropping_parameters')).toEqual([0, 160, 0, 120]);
    expect(data.get('bodyparts')).toEqual(BODYPARTS);
    expect((data.get('pytorch-config') as Map<string, unknown>).get('net_type')).toBe('resnet_50');
    expect((data.get('stop') as number) >= (data.get('start') as number)).toBe(true);

    if (HAS_PANDAS) {
      // pandas reads the .h5 to the DataFrame it reads from our CSV (pandas' own CSV reader), and the meta pickle.
      const said = python(
        `
import sys, pickle, pandas as pd
df = pd.read_hdf(sys.argv[1] + ".h5")
csv = pd.read_csv(sys.argv[1] + ".csv", header=[0, 1, 2], index_col=0, float_precision="round_trip")
assert list(df.columns.names) == ["scorer", "bodyparts", "coords"], df.columns.names
assert (df.columns == csv.columns).all() and (df.index == csv.index).all()
assert (df.values == csv.values).all(), (df.values - csv.values)
m = pickle.load(open(sys.argv[1] + "_meta.pickle", "rb"))["data"]
print(df.shape, str(df.dtypes.unique()[0]), m["Scorer"], m["frame_dimensions"], m["nframes"])
`,
        base,
      );
      expect(said.trim()).toBe(`(6, 12) float64 ${SCORER} (160, 120) 6`);
    }
  }, 240_000);

  it('create-labeled-video draws the keypoints in the colormap, skips existing videos, fails a video without results', async () => {
    const doc = parseDocument(readFileSync(project.config, 'utf8'));
    doc.set('skeleton', [['snout', 'tailbase']]);
    doc.set('skeleton_color', 'white');
    writeFileSync(project.config, doc.toString());
    const noResults = join(project.dir, 'other', 'clip2.avi');
    mkdirSync(join(project.dir, 'other'));
    copyFileSync(clip, noResults);
    const r = cli('create-labeled-video', project.config, clip, noResults, '--pcutoff', '0', '--dotsize', '4', '--keypoints-only', '--draw-skeleton');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain(`${noResults}: no results to draw`);
    expect(r.stderr).toContain('1 of 2 videos failed');
    const out = join(project.dir, 'videos', `clip${SCORER}_p0_labeled.mp4`);
    expect(r.stdout).toContain(`6 frames: ${out}`);
    const probe = python('import sys; print(open(sys.argv[1], "rb").read(12)[4:8])', out);
    expect(probe.trim()).toBe("b'ftyp'");
    // The first frame, decoded: each keypoint (away from the others and the border) sits in its jet colour on black.
    const raw = spawnSync('ffmpeg', ['-v', 'error', '-i', out, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']).stdout as Buffer;
    expect(raw.length).toBe(160 * 120 * 3);
    const frame = await readFrameH5(`${join(project.dir, 'videos', `clip${SCORER}`)}.h5`, 'df_with_missing');
    const colors = [[0, 0, 127], [0, 212, 255], [255, 229, 0], [127, 0, 0]];
    let checked = 0;
    for (let k = 0; k < 4; k++) {
      const [x, y] = [frame.values[3 * k]!, frame.values[3 * k + 1]!];
      const far = [0, 1, 2, 3].every((j) => j === k || Math.hypot(frame.values[3 * j]! - x, frame.values[3 * j + 1]! - y) > 12);
      if (!far || x < 6 || y < 6 || x > 154 || y > 114) continue;
      const o = (Math.floor(y) * 160 + Math.floor(x)) * 3;
      for (let c = 0; c < 3; c++) expect(Math.abs(raw[o + c]! - colors[k]![c]!)).toBeLessThan(48);
      checked++;
    }
    expect(checked, 'no keypoint of the random model lies clear of the others and the border').toBeGreaterThan(0);
    // Black elsewhere (--keypoints-only): most of the frame is dark.
    expect(raw.filter((v) => v > 40).length).toBeLessThan(raw.length / 4);
    const again = cli('create-labeled-video', project.config, clip, '--pcutoff', '0');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already exists');
  }, 240_000);

  it('fails a missing, truncated or unreadable video with its name and reason, analyses the others, keeps results unless --overwrite', () => {
    const folder = join(project.dir, 'mixed');
    // a good copy, the same cut in half, a text file named .mp4, and a file that does not exist
    mkdirSync(folder);
    copyFileSync(clip, join(folder, 'a-good.avi'));
    copyFileSync(clip, join(folder, 'b-truncated.avi'));
    truncateSync(join(folder, 'b-truncated.avi'), Math.floor(statSync(clip).size / 2));
    writeFileSync(join(folder, 'c-text.mp4'), 'not a video\n');
    writeFileSync(join(folder, 'notes.txt'), 'not listed: not a video type\n');
    const missing = join(project.dir, 'missing.mp4');
    const r = cli('analyze-videos', project.config, folder, missing, '--batch-size', '4');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/b-truncated\.avi: truncated or damaged: \d of 6 frames decoded \(ffmpeg: .+\)/);
    expect(r.stderr).toContain(`${join(folder, 'c-text.mp4')}: cannot be read as a video (ffprobe: `);
    expect(r.stderr).toContain(`${missing}: does not exist`);
    expect(r.stderr).toContain('3 of 4 videos failed:');
    const good = join(folder, `a-good${SCORER}.h5`);
    expect(existsSync(good)).toBe(true);
    // Nothing half-written: only the good video's results are there.
    expect(readdirSync(folder).sort()).toEqual(['a-good.avi', `a-good${SCORER}.h5`, `a-good${SCORER}_full.pickle`, `a-good${SCORER}_meta.pickle`, 'b-truncated.avi', 'c-text.mp4', 'notes.txt']);

    // An existing result is kept (DeepLabCut: "already analyzed", on finding _full.pickle; the .h5 counts too) unless --overwrite.
    writeFileSync(good, 'kept');
    rmSync(join(folder, `a-good${SCORER}_full.pickle`));
    const again = cli('analyze-videos', project.config, join(folder, 'a-good.avi'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already analyzed');
    expect(readFileSync(good, 'utf8')).toBe('kept');
    const over = cli('analyze-videos', project.config, join(folder, 'a-good.avi'), '--overwrite', '--frames', '3');
    expect(over.code, over.stderr).toBe(0);
    expect(readFileSync(good).subarray(1, 4).toString()).toBe('HDF');
  }, 240_000);

  it('on SIGINT exits 130 and leaves no partial file', async () => {
    const folder = join(project.dir, 'interrupted');
    const { clip: long } = openfieldClip(folder, 'long', 40);
    const child = cliAsync('analyze-videos', project.config, long, '--batch-size', '4', '--save-as-csv');
    let out = '';
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        // The first progress line: frames are being analysed and the partial files exist.
        if (/ frames [\d.]+ frames\/s ETA/.test(out) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => resolve(c));
    });
    expect(code, out + err).toBe(130);
    expect(err).toMatch(/interrupted; removed the partial .*\.partial-\d+\.h5/);
    expect(readdirSync(folder).filter((f) => !f.endsWith('-frames')).sort()).toEqual(['long.avi']);
  }, 240_000);

  it('refuses bad arguments before any work', () => {
    const bad = cli('analyze-videos', project.config, clip, '--cropping', '1,2,3');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cropping must be four whole numbers x1,x2,y1,y2');
    const td = cli('analyze-videos', project.config, clip, '--detector-snapshot', 'x.pt');
    expect(td.code).toBe(2);
    expect(td.stderr).toContain('--detector-snapshot is for top-down models;');
    const shuffle = cli('analyze-videos', project.config, clip, '--shuffle', '9');
    expect(shuffle.code).toBe(1);
    expect(shuffle.stderr).toMatch(/trainset95shuffle9\/train\/pytorch_config\.yaml does not exist/);
  });
});
