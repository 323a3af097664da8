/**
 * Progress of long operations (imports, scans, runs, re-drives), always on stderr so that
 * stdout stays the result (`--json` output can be piped). On a terminal: a cli-progress
 * bar. Otherwise (CI, pipes, logs): a plain line now and then, and one at the end.
 */
import cliProgress from "cli-progress";

/** Where progress is drawn: a stream that may be a terminal. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface Progress {
  /** Adds `n` (default 1) done. */
  tick(n?: number): void;
  /** Sets how many there are in all (when it becomes known). */
  setTotal(total: number): void;
  /** Ends the bar (prints the final line when not on a terminal). */
  done(): void;
}

export interface ProgressOptions {
  /** Where to draw (default process.stderr). */
  stream?: ProgressStream;
  /** Plain lines at most this often (default 2000 ms). */
  lineIntervalMs?: number;
  /** False: nothing at all (the quiet option). */
  enabled?: boolean;
}

export type ProgressFactory = (label: string, total?: number) => Progress;

const silent: Progress = { tick: () => {}, setTotal: () => {}, done: () => {} };

export function progressFactory(options: ProgressOptions = {}): ProgressFactory {
  const stream = options.stream ?? process.stderr;
  if (options.enabled === false) return () => silent;
  if (stream.isTTY) return (label, total) => barProgress(stream, label, total);
  return (label, total) => lineProgress(stream, label, total, options.lineIntervalMs ?? 2000);
}

function barProgress(stream: ProgressStream, label: string, total: number | undefined): Progress {
  const known = total !== undefined;
  const progressBar = new cliProgress.SingleBar(
    {
      stream,
      format: known ? `${label} [{bar}] {value}/{total}` : `${label} {value}`,
      clearOnComplete: false,
      hideCursor: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  progressBar.start(total ?? 0, 0);
  let finished = false;
  return {
    tick: (n = 1) => progressBar.increment(n),
    setTotal: (value) => progressBar.setTotal(value),
    done: () => {
      if (finished) return;
      finished = true;
      progressBar.stop();
    },
  };
}

function lineProgress(
  stream: ProgressStream,
  label: string,
  initialTotal: number | undefined,
  intervalMs: number,
): Progress {
  let value = 0;
  let total = initialTotal;
  let lastAt = 0;
  let lastLine = "";
  let finished = false;
  const print = (): void => {
    const line = `${label}: ${value}${total === undefined ? "" : `/${total}`}\n`;
    if (line === lastLine) return;
    lastLine = line;
    lastAt = Date.now();
    stream.write(line);
  };
  return {
    tick: (n = 1) => {
      value += n;
      if (Date.now() - lastAt >= intervalMs) print();
    },
    setTotal: (next) => {
      total = next;
    },
    done: () => {
      if (finished) return;
      finished = true;
      print();
    },
  };
}
