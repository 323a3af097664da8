/**
 * End to end: the local runner (`npm start`'s engine) in-process, with the production
 * handlers, webhooks on: 50 demo customers, two schedules, two report types.
 */

import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEMO_FIRM } from "#local/aws/demo-firm.ts";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import { DEMO_GROUP, DEMO_REPORT_TYPES, LOCAL_SCHEDULES } from "#local/pipeline/local-config.ts";
import {
  type LocalPipeline,
  type RunOutcome,
  runLocalPipeline,
  writeMailFiles,
} from "#local/pipeline/runner.ts";
import { demoRecipients, expectEmlFilesWithPdfs, expectOneMailPerReport } from "#test/support/e2e.ts";

const customers = demoCustomers(50, DEMO_GROUP, DEMO_REPORT_TYPES);
const recipientsOf = demoRecipients(customers);

describe("npm start on its defaults: 50 customers, two schedules", () => {
  let outcome: RunOutcome & { pipeline: LocalPipeline };

  beforeAll(async () => {
    outcome = await runLocalPipeline({
      customers: customers.map((customer) => ({ ...customer })),
      schedules: LOCAL_SCHEDULES,
      timeoutMs: 100_000,
    });
  }, 120_000);
  afterAll(async () => {
    await outcome?.pipeline.stop();
  });

  test("the run reports success: nothing lost, nothing twice, nothing dead", () => {
    expect(outcome.problems).toEqual([]);
    expect(outcome.summary).toMatchObject({
      customers: 50,
      batches: 2,
      reportsFinished: 100,
      mailsSent: 100,
      reportsFailed: 0,
      unroutable: 0,
      deadLetters: 0,
    });
  });

  test("every report reached exactly its customer's recipients once, with the simulator's PDF", async () => {
    await expectOneMailPerReport(outcome.pipeline.stack.sim, outcome.mails, recipientsOf);
  });

  test("webhooks arrived and rang; the rings and the poller share one hand-off, so no report was queued twice", () => {
    const deliveries = outcome.pipeline.stack.sim.webhookDeliveries();
    expect(deliveries.filter((delivery) => delivery.outcome === "delivered")).toHaveLength(100);
    expect(outcome.summary.duplicatesSkipped).toBe(0);
  });

  test("each mail is the firm's, in its customer's language: display name, reply-to, signature, footer", () => {
    for (const mail of outcome.mails) {
      const customer = customers.find((c) =>
        mail.destination.to.some((to) => c.emails.has(to) || c.emails_Finans?.has(to) === true),
      );
      expect(customer, mail.subject).toBeDefined();
      expect(mail.subject).toContain(customer?.cvr);
      const language = customer?.language ?? "da";
      expect(mail.subject).toMatch(language === "en" ? /report/i : /rapport/i);
      expect(mail.from).toBe(`"${DEMO_FIRM.mail.senderName}" <${DEMO_FIRM.mail.sender}>`);
      expect(mail.replyTo).toEqual([`"${DEMO_FIRM.mail.replyToName}" <${DEMO_FIRM.mail.replyTo}>`]);
      const text = mail.body.text ?? "";
      const firm = DEMO_FIRM.firm[language];
      expect(text).toContain(
        `${language === "en" ? "Kind regards" : "Venlig hilsen"}\n${firm.signature.join("\n")}`,
      );
      expect(text.replace(/\s+/g, " ")).toContain(firm.footer);
      expect(mail.body.html).toContain(DEMO_FIRM.firm.name);
      // The accountant of every other customer is in Cc.
      expect(mail.destination.cc).toEqual([...(customer?.cc ?? [])]);
    }
  });

  test("--out writes one .eml per mail, each with a PDF that opens", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lasso-e2e-"));
    const written = await writeMailFiles(outcome.pipeline, dir);
    expect(written).toBe(100);
    await expectEmlFilesWithPdfs(dir, 100);
    // The files are the archived bytes, named by SES's message id: one per mail SES took.
    const names = (await readdir(dir)).sort();
    expect(names).toEqual(
      outcome.mails.map((mail) => `${mail.messageId.replace(/[^A-Za-z0-9._-]/g, "_")}.eml`).sort(),
    );
  });
});
