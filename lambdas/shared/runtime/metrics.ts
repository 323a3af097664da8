/**
 * The metrics port of the use cases: they count events by name (and, rarely, one
 * dimension such as a refusal reason); the handler adapts it to Powertools Metrics (EMF).
 * A port, so use cases stay plain functions and tests can read what was counted.
 */
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/** The CloudWatch namespace of every metric the functions emit (the CDK app's dashboard and alarms read it). */
export const METRICS_NAMESPACE = "LassoReports";

export interface Counter {
  count(name: string, dimensions?: Readonly<Record<string, string>>, value?: number): void;
}

/**
 * Counts through Powertools. A plain count goes into the invocation's EMF blob (flushed by
 * the `logMetrics` middleware). A count with dimensions is emitted twice: plain, so an
 * alarm can watch the total, and in its own blob (`singleMetric`) with the dimensions, so
 * a dashboard can break it down without the dimension sticking to other metrics.
 */
export function powertoolsCounter(metrics: Metrics): Counter {
  return {
    count(name, dimensions, value = 1) {
      metrics.addMetric(name, MetricUnit.Count, value);
      if (dimensions === undefined || Object.keys(dimensions).length === 0) return;
      const single = metrics.singleMetric();
      for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
      single.addMetric(name, MetricUnit.Count, value);
    },
  };
}

/** A counter that remembers what was counted: for tests and the local runner's summary. */
export class RecordingCounter implements Counter {
  readonly counts: { name: string; dimensions?: Readonly<Record<string, string>>; value: number }[] = [];

  count(name: string, dimensions?: Readonly<Record<string, string>>, value = 1): void {
    this.counts.push(dimensions === undefined ? { name, value } : { name, dimensions, value });
  }

  /** The total counted under `name` (and, when given, with exactly these dimension values). */
  total(name: string, dimensions?: Readonly<Record<string, string>>): number {
    return this.counts
      .filter((entry) => entry.name === name)
      .filter(
        (entry) =>
          dimensions === undefined ||
          Object.entries(dimensions).every(([key, value]) => entry.dimensions?.[key] === value),
      )
      .reduce((sum, entry) => sum + entry.value, 0);
  }
}
