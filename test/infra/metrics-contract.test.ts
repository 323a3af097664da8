/**
 * The metrics the alarms and the dashboard use are the ones the functions emit, under the
 * service name (Powertools' `service` dimension) each handler gives itself.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "#lib/constructs/report-function.ts";
import { APP_METRICS, DELIVERY_FAILED_REASONS } from "#lib/metrics.ts";

const sourceOf = (folder: string): string =>
  readdirSync(path.join(PROJECT_ROOT, "lambdas", folder))
    .filter((file) => file.endsWith(".ts"))
    .map((file) => readFileSync(path.join(PROJECT_ROOT, "lambdas", folder, file), "utf8"))
    .join("\n");

describe("alarmed and graphed metrics are emitted by their function", () => {
  it.each(Object.entries(APP_METRICS))("%s", (_key, metric) => {
    const source = sourceOf(metric.service);
    expect(source).toContain(`"${metric.name}"`);
    const serviceNames = [...source.matchAll(/SERVICE_NAME = "([^"]+)"/g)].map((match) => match[1]);
    expect(serviceNames.length).toBeGreaterThan(0);
    expect(new Set(serviceNames)).toEqual(new Set([metric.service]));
  });
});

describe("DeliveryFailed is alarmed on every reason deliver-report gives it", () => {
  it("the reasons in lib/metrics.ts are exactly those in the code", () => {
    const source = sourceOf("deliver-report");
    const given = [...source.matchAll(/DELIVERY_METRICS\.failed,\s*\{\s*reason:\s*"([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(new Set(given)).toEqual(new Set(DELIVERY_FAILED_REASONS));
  });
});
