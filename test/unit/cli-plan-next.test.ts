/**
 * `lasso-reports plan SCHEDULE --next N`: the next firings in the schedule's zone and the
 * operator's, exactly as Scheduler fires them (holidays and DST), the holiday candidates
 * it skipped; it reads no table, so the endpoints file may point nowhere.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalEndpointsInput } from "#cli/endpoints.ts";
import { runCli } from "#cli/main.ts";
import type { UpcomingFirings } from "#cli/schedule-period.ts";

const nowhere = "http://127.0.0.1:9";
const endpoints: LocalEndpointsInput = {
  region: "eu-central-1",
  dynamodb: nowhere,
  sqs: nowhere,
  ses: nowhere,
  lasso: nowhere,
  lassoApiKey: "key",
  webhookUrl: `${nowhere}/webhook`,
  webhookHeaderName: "x-webhook-secret",
  webhookSecret: "secret",
  customersTable: "customers",
  stateTable: "state",
  reportReadyQueueUrl: `${nowhere}/queue`,
  reportReadyDlqUrl: `${nowhere}/dlq`,
  timeZone: "UTC",
  scheduleConfigs: [
    {
      name: "first-bankday",
      businessDay: 1,
      at: "07:00",
      timeZone: "Europe/Copenhagen",
      reportType: "Finans",
      group: "g",
    },
    {
      name: "nightly",
      cron: "cron(30 2 * * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "Revision",
      group: "g",
    },
  ],
};

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "plan-next-"));
  file = join(dir, "endpoints.json");
  await writeFile(file, JSON.stringify(endpoints));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await runCli(["--endpoints", file, ...args], { stdout, stderr });
  return { code, stdout: out, stderr: err };
}

describe("plan --next", () => {
  it("lists the next 12 firings of the first business day, and Nytårsdag as a skipped candidate", async () => {
    const run = await cli([
      "plan",
      "first-bankday",
      "--next",
      "12",
      "--scheduled-time",
      "2026-12-01T00:00:00Z",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const upcoming = JSON.parse(run.stdout) as UpcomingFirings;
    expect(upcoming.expression).toBe("cron(0 7 1-10 * ? *)");
    expect(upcoming.firings).toHaveLength(12);
    expect(upcoming.firings.slice(0, 6)).toEqual([
      "2026-12-01T06:00:00.000Z",
      "2027-01-04T06:00:00.000Z",
      "2027-02-01T06:00:00.000Z",
      "2027-03-01T06:00:00.000Z",
      "2027-04-01T05:00:00.000Z",
      "2027-05-03T05:00:00.000Z",
    ]);
    expect(upcoming.skippedForHolidays).toEqual([
      { scheduledTime: "2027-01-01T06:00:00.000Z", holiday: "Nytårsdag" },
    ]);
  });

  it("shows local time in the schedule's zone and the operator's", async () => {
    const run = await cli(["plan", "nightly", "--next", "3", "--scheduled-time", "2027-03-27T00:00:00Z"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("local time (Europe/Copenhagen)");
    // 02:30 on 2027-03-28 does not exist in Copenhagen: Scheduler skips it.
    expect(run.stdout).toMatch(/2027-03-27 02:30:00 \+01:00\s+│ 2027-03-27 01:30:00 \+00:00/);
    expect(run.stdout).toMatch(/2027-03-29 02:30:00 \+02:00\s+│ 2027-03-29 00:30:00 \+00:00/);
    expect(run.stdout).not.toContain("2027-03-28");
  });

  it("lists 02:30 on 2027-10-31, which happens twice in Copenhagen, once: at its first occurrence", async () => {
    const run = await cli([
      "plan",
      "nightly",
      "--next",
      "2",
      "--scheduled-time",
      "2027-10-30T12:00:00Z",
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as UpcomingFirings).firings).toEqual([
      "2027-10-31T00:30:00.000Z",
      "2027-11-01T01:30:00.000Z",
    ]);
  });

  it("refuses a count that is not a whole number", async () => {
    const run = await cli(["plan", "nightly", "--next", "zwölf"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--next must be a whole number/);
  });
});
