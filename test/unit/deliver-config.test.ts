/**
 * deliver-report's PDF size cap at cold start: on Lambda it must fit the function's memory
 * for a whole batch of parallel deliveries (lambdas/shared/pdf-budget.ts), whatever
 * MAX_PDF_BYTES says; synth checks the same for the deploy config.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { readDeliverReportSettings } from "#lambdas/deliver-report/config.ts";
import { DEMO_SENDER, demoMailProfileJson } from "#local/aws/demo-firm.ts";
import { ENV } from "#shared/env-names.ts";
import { DEFAULT_MAX_PDF_BYTES, maxPdfBytesFor } from "#shared/pdf-budget.ts";

const MiB = 1024 * 1024;

const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  [ENV.reportReadyQueueUrl]: "https://sqs.local/report-ready",
  [ENV.stateTable]: "state",
  [ENV.customersTable]: "customers",
  [ENV.archiveBucket]: "archive",
  [ENV.mailSender]: DEMO_SENDER,
  [ENV.mailProfile]: demoMailProfileJson(),
  [ENV.pdfAllowedHosts]: "files.lassox.com",
  [ENV.lassoBaseUrl]: "https://api.lassox.com",
  [ENV.lassoApiKeySecretId]: "lasso-key",
  ...extra,
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("maxPdfBytesFor", () => {
  test("a batch's PDFs, three copies each, fill at most 60% of the memory", () => {
    expect(maxPdfBytesFor(1024, 5)).toBe(Math.floor((1024 * MiB * 0.6) / 15));
    expect(maxPdfBytesFor(1024, 5)).toBeGreaterThanOrEqual(DEFAULT_MAX_PDF_BYTES);
    expect(maxPdfBytesFor(1024, 10)).toBeLessThan(DEFAULT_MAX_PDF_BYTES);
    expect(5 * 3 * maxPdfBytesFor(1024, 5)).toBeLessThanOrEqual(1024 * MiB * 0.6);
  });
});

describe("MAX_PDF_BYTES at cold start", () => {
  test("off Lambda (no memory size in the environment) it is taken as it is", () => {
    const settings = readDeliverReportSettings(env({ [ENV.maxPdfBytes]: String(150 * MiB) }));
    expect(settings.pdf.maxBytes).toBe(150 * MiB);
  });

  test("the default fits the stack's 1024 MB and batch size 5", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const settings = readDeliverReportSettings(
      env({ [ENV.lambdaMemorySize]: "1024", [ENV.deliveryBatchSize]: "5" }),
    );
    expect(settings.pdf.maxBytes).toBe(DEFAULT_MAX_PDF_BYTES);
    expect(warn).not.toHaveBeenCalled();
  });

  test("a cap the memory cannot hold for a whole batch is lowered to what fits, with a warning", () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const settings = readDeliverReportSettings(
      env({
        [ENV.maxPdfBytes]: String(100 * MiB),
        [ENV.lambdaMemorySize]: "512",
        [ENV.deliveryBatchSize]: "5",
      }),
    );
    expect(settings.pdf.maxBytes).toBe(maxPdfBytesFor(512, 5));
    expect(settings.pdf.maxBytes).toBeLessThan(100 * MiB);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain(`${ENV.maxPdfBytes} ${100 * MiB} does not fit 512 MB`);
  });

  test("without the stack's batch size it assumes SQS's largest, 10", () => {
    vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const settings = readDeliverReportSettings(env({ [ENV.lambdaMemorySize]: "1024" }));
    expect(settings.pdf.maxBytes).toBe(maxPdfBytesFor(1024, 10));
  });

  test("a batch size outside SQS's 1..10 is refused", () => {
    expect(() =>
      readDeliverReportSettings(env({ [ENV.lambdaMemorySize]: "1024", [ENV.deliveryBatchSize]: "11" })),
    ).toThrow(ENV.deliveryBatchSize);
  });
});

describe("MAIL_PROFILE at cold start", () => {
  test("the firm's profile and its logo are read once, the display name kept apart from the address", () => {
    const settings = readDeliverReportSettings(env({}));
    expect(settings.mail.sender).toBe(DEMO_SENDER);
    expect(settings.mail.profile.from).toEqual({ name: "Demo Revision", address: DEMO_SENDER });
    expect(settings.mail.profile.firm.name).toBe("Demo Revision ApS");
    expect(settings.mail.logo?.contentType).toBe("image/png");
    expect(settings.mail.logo?.bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
  });

  test("a profile that is missing, not JSON, invalid or from another sender is refused by name", () => {
    const without = env({});
    delete without[ENV.mailProfile];
    expect(() => readDeliverReportSettings(without)).toThrow(/MAIL_PROFILE is required/);
    expect(() => readDeliverReportSettings(env({ [ENV.mailProfile]: "{" }))).toThrow(
      /MAIL_PROFILE.*not JSON/,
    );
    const profile = JSON.parse(demoMailProfileJson());
    profile.firm.name = "Firma\r\nBcc: x@evil.dk";
    expect(() => readDeliverReportSettings(env({ [ENV.mailProfile]: JSON.stringify(profile) }))).toThrow(
      /firm\.name: must be one line/,
    );
    expect(() =>
      readDeliverReportSettings(env({ [ENV.mailSender]: "other@lasso-reports.example.dk" })),
    ).toThrow(/from address is not MAIL_SENDER/);
  });
});
