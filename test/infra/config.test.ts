/**
 * A bad deploy config fails synth with the name of the field: through buildApp (what the
 * app does first) and through the app's entry point as `cdk synth` runs it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildApp } from "#lib/app.ts";
import { deployConfig } from "#lib/config/deploy-config.ts";
import { ConfigError, type DeployConfigInput, parseDeployConfig } from "#lib/config/schema.ts";
import { PROJECT_ROOT } from "#lib/constructs/report-function.ts";

const run = promisify(execFile);

type ScheduleInput = DeployConfigInput["schedules"][number];
/** The example config with two schedules, made editable for a test's one change. */
type Mutable = Omit<DeployConfigInput, "schedules"> & { schedules: [ScheduleInput, ScheduleInput] };

const withChanges = (change: (config: Mutable) => void): DeployConfigInput => {
  const copy = structuredClone(deployConfig) as Mutable;
  change(copy);
  return copy;
};

describe("the example deploy config", () => {
  it("is valid as it is", () => {
    expect(() => parseDeployConfig(deployConfig)).not.toThrow();
  });
});

describe("a bad deploy config fails with the field's name", () => {
  it.each<[string, (config: Mutable) => void]>([
    [
      "config.mail.sender",
      (c) => {
        c.mail.sender = "rapporter(at)example.dk";
      },
    ],
    [
      "config.mail.identity",
      (c) => {
        c.mail.identity = "andet-domæne.dk";
      },
    ],
    [
      "config.mail.identity",
      (c) => {
        c.mail.identity = "other.dk";
      },
    ],
    [
      "config.lasso.baseUrl",
      (c) => {
        c.lasso.baseUrl = "http://api.lassox.com";
      },
    ],
    [
      "config.pdfHosts",
      (c) => {
        c.pdfHosts = [];
      },
    ],
    [
      "config.pdfHosts[1]",
      (c) => {
        c.pdfHosts = ["files.lassox.com", "https://x.dk/"];
      },
    ],
    [
      "config.schedules[0].timeZone",
      (c) => {
        c.schedules[0].timeZone = "Europe/Kobenhavn";
      },
    ],
    [
      "config.schedules[0].cron",
      (c) => {
        c.schedules[0].cron = "0 6 1 * *";
      },
    ],
    [
      "config.schedules[0].listener",
      (c) => {
        c.schedules[0].listener = {};
      },
    ],
    [
      "config.schedules[1].name",
      (c) => {
        c.schedules[1].name = "monthly-revision";
      },
    ],
    [
      "config.schedules[0].flexibleWindowMinutes",
      (c) => {
        c.schedules[0].flexibleWindowMinutes = 500;
      },
    ],
    [
      "config.poll.rateMinutes",
      (c) => {
        c.poll = { rateMinutes: 0 };
      },
    ],
    [
      "config.submission.chunkSize",
      (c) => {
        c.submission = { chunkSize: 0 };
      },
    ],
    [
      "config.delivery.maxConcurrency",
      (c) => {
        c.delivery = { maxConcurrency: 1 };
      },
    ],
    [
      "config.alertEmail",
      (c) => {
        c.alertEmail = "drift";
      },
    ],
    [
      "config.retention.logDays",
      (c) => {
        c.retention = { logDays: 42 };
      },
    ],
    [
      "config.webhook.headerName",
      (c) => {
        c.webhook = { headerName: "x secret" };
      },
    ],
  ])("%s", (field, change) => {
    const attempt = () => buildApp(withChanges(change));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(`${field}:`);
  });

  it("lists every bad field at once", () => {
    const attempt = () =>
      buildApp(
        withChanges((c) => {
          c.mail.sender = "nope";
          c.alertEmail = "nope";
        }),
      );
    expect(attempt).toThrow(/config\.mail\.sender:[\s\S]*config\.alertEmail:/);
  });

  it("`cdk synth` (the app's entry point) exits 1 and prints the field, with no stack trace", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lasso-config-"));
    const file = path.join(dir, "config.json");
    writeFileSync(
      file,
      JSON.stringify(
        withChanges((c) => {
          c.mail.sender = "not-an-address";
        }),
      ),
    );
    const failure = await run("npx", ["tsx", "bin/app.ts"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, LASSO_REPORTS_CONFIG: file, CDK_OUTDIR: path.join(dir, "out") },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain("Invalid deploy config:");
    expect(failure?.stderr).toContain("config.mail.sender:");
    expect(failure?.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
