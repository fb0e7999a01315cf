// The scorer name DeepLabCut puts in every output file name and in the first header row:
// DLC_<CamelCase net_type>_<Task><date>shuffle<N>_snapshot_<uid> (apis/utils.py get_scorer_name), with
// <Task><date> and <N> taken from the model folder (<Task><date>-trainset<pct>shuffle<N>).
import { basename, dirname } from 'node:path';
import { dlcNetName, snapshotUid } from './predictions-csv.ts';

/**
 * The scorer for `snapshotPath`, a .pt inside <model folder>/train/; a top-down model's names its detector
 * snapshot too: ..._detector_<uid>_snapshot_<uid>.
 */
export function dlcScorer(netType: string, snapshotPath: string, snapshotPrefix = 'snapshot', detectorSnapshot?: string): string {
  const modelFolder = basename(dirname(dirname(snapshotPath)));
  const m = /^(.*)-trainset\d+shuffle(\d+)$/.exec(modelFolder);
  const detector = detectorSnapshot ? `detector_${snapshotUid(detectorSnapshot, 'snapshot-detector')}_` : '';
  return `DLC_${dlcNetName(netType)}_${m ? `${m[1]}shuffle${m[2]}_` : ''}${detector}snapshot_${snapshotUid(snapshotPath, snapshotPrefix)}`;
}
