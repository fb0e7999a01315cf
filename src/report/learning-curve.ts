// train/learning_curve.png: the training run at a glance, from learning_stats.csv's rows. Top panel:
// train and eval total loss per epoch; bottom panel: the key metric (runner.key_metric) where evaluated.
import { renderChartPanels } from './line-chart.ts';

/** The values of one learning_stats.csv column by epoch: [epoch, value][] (missing cells left out). */
export type ColumnSeries = (column: string) => [number, number][];

export function learningCurvePng(series: ColumnSeries, keyMetric: string, width = 720, height = 720): Uint8Array {
  const metric = keyMetric.startsWith('metrics/') ? keyMetric : `metrics/${keyMetric}`;
  return renderChartPanels(
    [
      {
        title: 'Loss',
        xLabel: 'epoch',
        yLabel: 'total loss',
        series: [
          { name: 'train', points: series('losses/train.total_loss') },
          { name: 'eval', points: series('losses/eval.total_loss') },
        ],
      },
      {
        title: `Key metric: ${metric.slice('metrics/'.length)}`,
        xLabel: 'epoch',
        yLabel: metric.slice('metrics/'.length),
        series: [{ name: metric.slice('metrics/'.length), points: series(metric), color: [44, 160, 44] }],
      },
    ],
    width,
    height,
  );
}
