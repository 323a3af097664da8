import { describe, expect, it } from "vitest";
import { buildProgram, simulatorOptions } from "#local/lasso-sim/cli.ts";

function parse(args: string[]) {
  const program = buildProgram()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} });
  program.parse(["node", "cli.ts", ...args]);
  return simulatorOptions(program.opts());
}

describe("lasso-sim CLI", () => {
  it("maps the defaults", () => {
    const options = parse([]);
    expect(options).toMatchObject({
      port: 4010,
      host: "127.0.0.1",
      apiKey: "sim-api-key",
      reportDelayMs: 250,
      itemsPageSize: 50,
      rateLimitPerMinute: 500,
      rateLimitWindowMs: 60_000,
      webhooksEnabled: true,
      webhookRetryScale: 0.001,
      failedReportsHavePdf: true,
      faults: {},
    });
    expect(options.log).toBeUndefined();
  });

  it("maps every knob", () => {
    const options = parse([
      "--port=0",
      "--api-key",
      "KEY",
      "--report-delay-ms",
      "5",
      "--page-size",
      "10",
      "--rate-limit",
      "20",
      "--no-webhooks",
      "--webhook-retry-scale",
      "0.01",
      "--no-failed-pdf",
      "--item-failed-rate",
      "0.5",
      "--webhook-reorder",
      "--verbose",
    ]);
    expect(options).toMatchObject({
      port: 0,
      apiKey: "KEY",
      reportDelayMs: 5,
      itemsPageSize: 10,
      rateLimitPerMinute: 20,
      webhooksEnabled: false,
      webhookRetryScale: 0.01,
      failedReportsHavePdf: false,
      faults: { itemFailedRate: 0.5, webhookReorder: true },
    });
    expect(typeof options.log).toBe("function");
  });

  it("turns on moderate seeded faults with --chaos, explicit rates winning", () => {
    expect(parse(["--chaos"]).faults).toMatchObject({ seed: 1, apiErrorRate: 0.05, webhookDropRate: 0.1 });
    expect(parse(["--chaos", "7", "--api-error-rate", "0"]).faults).toMatchObject({
      seed: 7,
      apiErrorRate: 0,
    });
  });

  it("rejects invalid values", () => {
    expect(() => parse(["--port", "abc"])).toThrow(/number/);
    expect(() => parse(["--item-warning-rate", "2"])).toThrow(/between 0 and 1/);
  });
});
