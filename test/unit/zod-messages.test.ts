/**
 * Function code uses zod/mini, which has no messages of its own ("Invalid input" for every
 * problem); classic zod had English ones. Each module whose messages reach an error or a log
 * registers English itself (lambdas/shared/zod-english.ts): proved here module by module,
 * with zod's global locale cleared and the module loaded afresh each time.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as z from "zod/mini";

beforeEach(() => {
  z.config({ localeError: undefined });
  vi.resetModules();
});

describe("zod/mini schemas in function code say what is wrong, in English", () => {
  it("an SES event the function cannot record", async () => {
    const { parseSesEventDetail } = await import("#lambdas/record-ses-event/ses-event.ts");
    expect(() =>
      parseSesEventDetail({ eventType: "Complaint", mail: { messageId: "" }, complaint: {} }),
    ).toThrow(
      "not an SES delivery, delay, bounce, complaint or reject event (mail.messageId: Too small: expected string to have >=1 characters; complaint.complainedRecipients: Invalid input: expected array, received undefined)",
    );
  });

  it("a Lasso answer: the issues of the response error", async () => {
    const { issuesOf, lassoBatchSchema } = await import("#shared/lasso/schemas.ts");
    const parsed = lassoBatchSchema.safeParse({ id: "b-1", name: "n", status: "Lost", batchSize: "x" });
    expect(parsed.success).toBe(false);
    expect(parsed.error && issuesOf(parsed.error)).toEqual([
      {
        path: "status",
        message:
          'Invalid option: expected one of "Scheduled"|"Initializing"|"Executing"|"Finished"|"FinishedWithWarning"|"FinishedWithErrors"|"Listening"|"ListeningStopped"',
      },
      { path: "batchSize", message: "Invalid input" },
      { path: "completionPercentage", message: "Invalid input" },
    ]);
  });

  it("a mail profile edited by hand", async () => {
    const { parseMailProfile } = await import("#shared/mail/profile.ts");
    expect(() => parseMailProfile(JSON.stringify({ from: { address: "not-mail" } }))).toThrow(
      /^mail profile is invalid: from\.address: Invalid email address; firm: Invalid input: expected object, received undefined/,
    );
  });

  it("a schedule (the deploy config's, the schedules table's, submit-batches' event)", async () => {
    const { scheduleSchema } = await import("#shared/schedule.ts");
    const parsed = scheduleSchema.safeParse({
      name: "monthly",
      cron: "cron(0 6 1 * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "Revision",
      group: "",
    });
    expect(parsed.error?.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`)).toEqual([
      "group: Too small: expected string to have >=1 characters",
    ]);
  });

  it("a report-ready message", async () => {
    const { parseReportReadyMessage } = await import("#shared/report-ready.ts");
    expect(() => parseReportReadyMessage(JSON.stringify({ version: 2 }))).toThrow(
      "Invalid input: expected 1",
    );
  });
});
