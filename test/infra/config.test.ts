/**
 * A bad deploy config fails synth with the name of the field: through buildApp (what the
 * app does first) and through the app's entry point as `cdk synth` runs it.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildApp } from "#lib/app.ts";
import { deployConfig } from "#lib/config/deploy-config.ts";
import { mailProfileJson } from "#lib/config/mail-profile.ts";
import { ConfigError, type DeployConfigInput, parseDeployConfig } from "#lib/config/schema.ts";
import { PROJECT_ROOT } from "#lib/constructs/report-function.ts";
import {
  checkMailTemplates,
  compileMailTemplates,
  TEMPLATE_DIR,
  templateProblems,
} from "#lib/mail-templates/compile.ts";
import { parseMailProfile } from "#shared/mail/profile.ts";

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

describe("pdfHosts: exact names, not a platform's tenants", () => {
  const hosts = (pdfHosts: string[], allow?: boolean): DeployConfigInput =>
    withChanges((c) => {
      c.pdfHosts = pdfHosts;
      if (allow !== undefined) c.allowMultiTenantPdfHostWildcards = allow;
    });

  it("the example allows no wildcard over a shared storage or CDN platform", () => {
    expect(parseDeployConfig(deployConfig).pdfHosts).not.toContain("*.blob.core.windows.net");
    expect(parseDeployConfig(deployConfig).allowMultiTenantPdfHostWildcards).toBe(false);
  });

  it.each([
    ["*.blob.core.windows.net", "blob.core.windows.net"],
    ["*.core.windows.net", "core.windows.net"],
    ["*.windows.net", "core.windows.net"],
    ["*.web.core.windows.net", "web.core.windows.net"],
    ["*.s3.amazonaws.com", "s3.amazonaws.com"],
    ["*.s3.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"],
    ["*.amazonaws.com", "amazonaws.com"],
    ["*.execute-api.amazonaws.com", "amazonaws.com"],
    ["*.cloudfront.net", "cloudfront.net"],
    ["*.storage.googleapis.com", "storage.googleapis.com"],
    ["*.googleapis.com", "googleapis.com"],
    ["*.azureedge.net", "azureedge.net"],
    ["*.r2.cloudflarestorage.com", "r2.cloudflarestorage.com"],
    ["*.digitaloceanspaces.com", "digitaloceanspaces.com"],
    ["*.fra1.digitaloceanspaces.com", "fra1.digitaloceanspaces.com"],
    ["*.herokuapp.com", "herokuapp.com"],
    ["*.azurewebsites.net", "azurewebsites.net"],
    ["*.appspot.com", "appspot.com"],
    ["*.netlify.app", "netlify.app"],
    ["*.vercel.app", "vercel.app"],
    ["*.github.io:443", "github.io"],
  ])("%s fails synth, naming the field and the platform", (pattern, platform) => {
    const attempt = () => buildApp(hosts(["files.lassox.com", pattern]));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/config\.pdfHosts\[1\]: .*shared platform/);
    expect(attempt).toThrow(platform);
    expect(attempt).toThrow("allowMultiTenantPdfHostWildcards");
  });

  it("allowMultiTenantPdfHostWildcards: true accepts such a wildcard deliberately", () => {
    const config = parseDeployConfig(hosts(["*.blob.core.windows.net", "*.cloudfront.net"], true));
    expect(config.pdfHosts).toEqual(["*.blob.core.windows.net", "*.cloudfront.net"]);
    expect(() => buildApp(hosts(["*.blob.core.windows.net"], false))).toThrow("config.pdfHosts[0]:");
  });

  it.each([
    ["*", "every host"],
    ["*:443", "every host"],
    ["*.com", "public suffix com"],
    ["*.dk", "public suffix dk"],
    ["*.co.uk", "public suffix co.uk"],
  ])("%s is refused even when multi-tenant wildcards are allowed", (pattern, why) => {
    const attempt = () => buildApp(hosts([pattern], true));
    expect(attempt).toThrow("config.pdfHosts[0]:");
    expect(attempt).toThrow(why);
  });

  it.each([
    "files.lassox.com",
    "*.lassox.com",
    "lassoxreports.blob.core.windows.net",
    "*.lassoxreports.blob.core.windows.net",
    "reports.s3.eu-west-1.amazonaws.com",
    "d1234abcd.cloudfront.net",
    "127.0.0.1:4010",
  ])("%s (one organisation's own host or domain) is accepted", (pattern) => {
    expect(parseDeployConfig(hosts([pattern])).pdfHosts).toEqual([pattern]);
  });
});

describe("maxPdfBytes fits deliver-report's memory", () => {
  const delivery = (value: NonNullable<DeployConfigInput["delivery"]>): DeployConfigInput =>
    withChanges((c) => {
      c.delivery = value;
    });

  it("the defaults fit: 5 parallel deliveries × 3 copies × 40 MiB within 60% of 1024 MB", () => {
    const config = parseDeployConfig(deployConfig);
    expect(config.delivery).toMatchObject({ batchSize: 5, memoryMb: 1024, maxPdfBytes: 40 * 1024 * 1024 });
  });

  it("a PDF cap the memory cannot hold for a whole batch fails synth with the numbers", () => {
    const attempt = () => buildApp(delivery({ batchSize: 10, maxPdfBytes: 40 * 1024 * 1024 }));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/config\.delivery\.maxPdfBytes: 41943040 bytes does not fit/);
    expect(attempt).toThrow("at most 21474836 bytes");
  });

  it("more memory or a smaller batch makes the same cap fit", () => {
    expect(() => parseDeployConfig(delivery({ batchSize: 10, memoryMb: 2048 }))).not.toThrow();
    expect(() => parseDeployConfig(delivery({ batchSize: 2, maxPdfBytes: 100 * 1024 * 1024 }))).not.toThrow();
    expect(() => parseDeployConfig(delivery({ batchSize: 3, maxPdfBytes: 100 * 1024 * 1024 }))).toThrow(
      "config.delivery.maxPdfBytes:",
    );
  });
});

describe("the firm and its sender", () => {
  it("keeps the display name for From and the bare address for SES and the identity", () => {
    const config = parseDeployConfig(deployConfig);
    expect(config.mail.sender).toBe("rapporter@example.dk");
    expect(config.mail.senderName).toBe("Revisor Firma");
    expect(config.mail.replyTo).toBe("kontakt@example.dk");
    const profile = parseMailProfile(mailProfileJson(config));
    expect(profile.from).toEqual({ name: "Revisor Firma", address: "rapporter@example.dk" });
    expect(profile.firm).toMatchObject({ name: "Revisor Firma ApS", cvr: "34580820" });
    expect(profile.texts.en.signature).toEqual(["Revisor Firma ApS", "Reports team"]);
    // Failure notices without an accountant go to the alert address.
    expect(profile.operators).toBe("drift@example.dk");
  });

  it("embeds a logo file read at synth (the function's bundle carries it) and refuses what is no image", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lasso-logo-"));
    const logo = path.join(PROJECT_ROOT, "local", "pipeline", "demo-logo.png");
    const config = parseDeployConfig(
      withChanges((c) => {
        c.firm.logo = { file: logo };
      }),
    );
    expect(parseMailProfile(mailProfileJson(config)).logo).toEqual({
      file: "firm-logo.png",
      contentType: "image/png",
      alt: "Revisor Firma ApS",
    });
    const text = path.join(dir, "logo.png");
    writeFileSync(text, "not a picture");
    expect(() =>
      parseDeployConfig(
        withChanges((c) => {
          c.firm.logo = { file: text };
        }),
      ),
    ).toThrow(/config\.firm\.logo\.file: .* is not a PNG, JPEG or GIF image/);
    expect(() =>
      parseDeployConfig(
        withChanges((c) => {
          c.firm.logo = { file: path.join(dir, "missing.png") };
        }),
      ),
    ).toThrow(/config\.firm\.logo\.file: no file/);
  });

  it.each([
    ["two addresses", "a@example.dk, b@example.dk"],
    ["a line break in the name", "Revisor\r\nBcc: x@evil.dk <rapporter@example.dk>"],
    ["no address", "Revisor Firma"],
  ])("refuses a sender with %s", (_what, sender) => {
    expect(() =>
      parseDeployConfig(
        withChanges((c) => {
          c.mail.sender = sender;
        }),
      ),
    ).toThrow(/config\.mail\.sender:/);
  });

  it("refuses a firm CVR that fails the check digit, a missing signature, and an http web address", () => {
    const attempt = () =>
      parseDeployConfig(
        withChanges((c) => {
          c.firm.cvr = "34580821";
          c.firm.da.signature = [];
          c.firm.web = "http://example.dk";
        }),
      );
    expect(attempt).toThrow(/config\.firm\.cvr:[\s\S]*config\.firm\.web:[\s\S]*config\.firm\.da\.signature:/);
  });
});

describe("the mail templates", () => {
  it("`cdk synth` exits 1 naming the file and the variable when a template uses an unknown one", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lasso-templates-"));
    cpSync(TEMPLATE_DIR, dir, { recursive: true });
    writeFileSync(
      path.join(dir, "en", "Finans.subject.hbs"),
      "Financial report: {{company}} ({{companyCvr}})\n",
    );
    await expect(compileMailTemplates(dir)).rejects.toThrow(
      /Finans\.subject\.hbs: unknown variable \{\{companyCvr\}\}/,
    );
    const failure = await run("npx", ["tsx", "bin/app.ts"], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, LASSO_REPORTS_MAIL_TEMPLATES: dir, CDK_OUTDIR: path.join(dir, "out") },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain("Finans.subject.hbs: unknown variable {{companyCvr}}");
    expect(failure?.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it("refuses unknown helpers, partials, item paths inside each, and unknown firm fields, in any branch", () => {
    const known = { firm: ["name"], signature: true, isTest: true } as const;
    expect(templateProblems("{{#if isTest}}{{firm.name}}{{else}}{{firm.nmae}}{{/if}}", known)).toEqual([
      "unknown variable {{firm.nmae}}",
    ]);
    expect(templateProblems("{{shout firm.name}}", known)).toEqual(["unknown helper {{shout}}"]);
    expect(templateProblems("{{> footer}}", known)).toEqual([
      "PartialStatement is not supported: keep each template in its own file",
    ]);
    expect(templateProblems("{{#each signature}}{{line}}{{this}}{{../firm.name}}{{/each}}", known)).toEqual([
      "{{line}} inside each/with: write {{this}} or {{../line}}",
    ]);
    expect(templateProblems("{{#each signature}}{{this}}{{/each}}{{firm.name}}", known)).toEqual([]);
  });

  it("the generated module is the templates' current compilation (npm run build:mail)", async () => {
    await expect(checkMailTemplates()).resolves.toBeUndefined();
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
      "config.alertEmail",
      (c) => {
        c.alertEmail = `${"d".repeat(65)}@example.dk`;
      },
    ],
    [
      "config.mail.replyTo",
      (c) => {
        c.mail.replyTo = `${"s".repeat(65)}@example.dk`;
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

  it("an address whose local part is exactly 64 octets is fine", () => {
    const config = parseDeployConfig(
      withChanges((c) => {
        c.alertEmail = `${"d".repeat(64)}@example.dk`;
      }),
    );
    expect(config.alertEmail).toHaveLength(64 + "@example.dk".length);
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

describe("Lasso's rate limit", () => {
  it("defaults to Lasso's documented 500 calls a minute, and refuses a limit the budget cannot keep margins in", () => {
    expect(parseDeployConfig(deployConfig).lasso.callsPerMinute).toBe(500);
    const withLimit = (callsPerMinute: number) =>
      withChanges((c) => {
        c.lasso = { ...c.lasso, callsPerMinute };
      });
    expect(parseDeployConfig(withLimit(1200)).lasso.callsPerMinute).toBe(1200);
    expect(() => parseDeployConfig(withLimit(9))).toThrow(/config\.lasso\.callsPerMinute/);
    expect(() => parseDeployConfig(withLimit(120.5))).toThrow(/config\.lasso\.callsPerMinute/);
  });
});

describe("the evidence archive's settings", () => {
  it("refuses a stack name too long for the archive bucket's name, and names the limit", () => {
    expect(() =>
      parseDeployConfig(
        withChanges((c) => {
          c.stackName = "A".repeat(27);
        }),
      ),
    ).toThrow(/config\.stackName: at most 26 characters: the evidence archive's bucket/);
    expect(() =>
      parseDeployConfig(
        withChanges((c) => {
          c.stackName = "A".repeat(26);
        }),
      ),
    ).not.toThrow();
  });

  it("refuses a COMPLIANCE retention over 10 years (it could never be shortened), not a GOVERNANCE one", () => {
    const archive = (retentionMode: "COMPLIANCE" | "GOVERNANCE", retentionDays: number) =>
      withChanges((c) => {
        c.archive = { retentionMode, retentionDays };
      });
    expect(() => parseDeployConfig(archive("COMPLIANCE", 36_500))).toThrow(
      /config\.archive\.retentionDays: 36500 days in COMPLIANCE mode cannot be shortened/,
    );
    expect(parseDeployConfig(archive("COMPLIANCE", 3653)).archive.retentionDays).toBe(3653);
    expect(parseDeployConfig(archive("GOVERNANCE", 36_500)).archive.retentionMode).toBe("GOVERNANCE");
    expect(parseDeployConfig(deployConfig).archive).toEqual({
      retentionMode: "COMPLIANCE",
      retentionDays: 1827,
      coldAfterDays: 90,
    });
  });
});
