/**
 * What the whole-pipeline benchmarks share: Lasso requests by route (from the simulator's
 * request log), medians, and variants run each in a fresh child process (the handlers are
 * modules with clients built once, and peak RSS is per process).
 */
import { spawnSync } from "node:child_process";

/** The simulator's log line "GET /apps/reporting/batches/ID/items?... -> 200 (3 ms)" by route. */
export function routeOf(line: string): string {
  const [method, path = ""] = line.split(" ");
  if (path.startsWith("/files/")) return "pdf";
  if (!path.startsWith("/apps/reporting/")) return "other";
  const rest = path.slice("/apps/reporting/".length).split("?")[0] ?? "";
  if (rest === "batches") return method === "POST" ? "createBatch" : "listBatches";
  if (rest.endsWith("/items")) return "listItems";
  if (rest.endsWith("/download")) return "download";
  if (rest.startsWith("batches/")) return "getBatch";
  return "other";
}

/** The status the simulator answered with, from its log line ("... -> 429 (1 ms)"). */
export function statusOf(line: string): number {
  return Number(/ -> (\d{3}) /.exec(line)?.[1] ?? 0);
}

export const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** Prints a variant's result for the parent to read (the last thing a child does). */
export function printResult(result: unknown): void {
  console.log(`RESULT ${JSON.stringify(result)}`);
}

/** Runs `script` (a bench file) in a fresh Node process with `args`; its RESULT line, parsed. */
export function runChild<T>(script: string, args: readonly string[], nodeArgs: readonly string[] = []): T {
  const run = spawnSync(process.execPath, [...nodeArgs, "--import", "tsx", script, ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (run.status !== 0 || line === undefined) {
    throw new Error(`${args.join(" ")} failed (${run.status}): ${run.stderr.slice(-2000)}`);
  }
  return JSON.parse(line.slice("RESULT ".length)) as T;
}

/**
 * Runs two variants `runs` times each, alternated (a, b, then b, a, …) so that a busy moment
 * of the machine hits both; their results by variant.
 */
export function alternate<V extends string, R>(
  runs: number,
  variants: readonly [V, V],
  run: (variant: V, index: number) => R,
): Record<V, R[]> {
  const [first, second] = variants;
  const results = { [first]: [], [second]: [] } as unknown as Record<V, R[]>;
  for (let i = 0; i < runs; i++) {
    for (const variant of i % 2 === 0 ? [first, second] : [second, first]) {
      results[variant].push(run(variant, i));
    }
  }
  return results;
}
