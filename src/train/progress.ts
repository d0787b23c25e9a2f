import cliProgress from 'cli-progress';

/**
 * A per-epoch progress bar (cli-progress) showing rows done, the running loss and
 * samples/s. Silent when disabled or when stderr is not a TTY (CI, pipes).
 */
export class ProgressReporter {
  private readonly bar: cliProgress.SingleBar | null;
  private rows = 0;
  private lossSum = 0;
  private steps = 0;
  private readonly start = performance.now();

  constructor(enabled: boolean, title: string, totalRows: number | undefined) {
    if (!enabled || !process.stderr.isTTY) {
      this.bar = null;
      return;
    }
    this.bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${title} [{bar}] {percentage}% | {value}/{total} rows | loss {loss} | {speed} rows/s`,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(totalRows ?? 0, 0, { loss: '-', speed: '-' });
  }

  /** Records one step of `rows` rows with mean loss `loss`. */
  update(rows: number, loss: number): void {
    this.rows += rows;
    this.lossSum += loss;
    this.steps++;
    if (this.bar === null) return;
    const secs = (performance.now() - this.start) / 1000;
    this.bar.update(this.rows, { loss: (this.lossSum / this.steps).toFixed(5), speed: secs > 0 ? Math.round(this.rows / secs) : '-' });
  }

  /** Closes the bar. */
  done(): void {
    this.bar?.stop();
  }
}
