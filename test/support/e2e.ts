/**
 * End-to-end assertions on a local run, made from what really went out (the SES
 * emulator's store and the .eml files), never from our own records.
 */

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { PDFDocument } from "pdf-lib";
import { expect } from "vitest";
import type { StoredMail } from "#local/aws/sent-mails.ts";
import type { LassoSimulator } from "#local/lasso-sim/types.ts";
import { REPORT_TYPE_NUMBERS, REPORT_TYPES } from "#shared/lasso/enums.ts";
import { safePdfFileName } from "#shared/mail/compose.ts";

export interface ExpectedReport {
  batchId: string;
  itemId: string;
  fileName: string;
  cvr: string;
  internalCustomerId: number | null;
  status: string;
  reportType: string;
}

/** Who a customer's report of a type goes to: To and Cc (Bcc is in no header). */
export interface ExpectedRecipients {
  to: readonly string[];
  cc: readonly string[];
}

/** The demo customers' recipients (local/pipeline/demo-customers.ts): per-type To, and cc. */
export function demoRecipients(
  customers: readonly {
    customerId: number;
    emails: Set<string>;
    emails_Finans?: Set<string>;
    cc?: Set<string>;
  }[],
): (customerId: number, reportType: string) => ExpectedRecipients {
  return (customerId, reportType) => {
    const customer = customers.find((candidate) => candidate.customerId === customerId);
    const own = reportType === "Finans" ? customer?.emails_Finans : undefined;
    return { to: [...(own ?? customer?.emails ?? [])], cc: [...(customer?.cc ?? [])] };
  };
}

/** Every finished report the simulator produced, over all batches. */
export function finishedReports(sim: LassoSimulator): ExpectedReport[] {
  return sim.batches().flatMap((batch) =>
    batch.items.map((item) => ({
      batchId: batch.id,
      itemId: item.id,
      // As mailed: Lasso's name, made readable where it had to lose characters (K_S → K-S).
      fileName: safePdfFileName(item.fileName, "", item.name ?? undefined),
      cvr: String(item.cvr),
      internalCustomerId: item.internalCustomerId,
      status: item.status,
      reportType: REPORT_TYPES.find((type) => REPORT_TYPE_NUMBERS[type] === batch.type) ?? String(batch.type),
    })),
  );
}

/**
 * Each Completed or Warning report went out in exactly one mail, to exactly the customer's
 * recipients, with the simulator's PDF bytes attached under Lasso's file name; Failed ones
 * went to nobody.
 */
export async function expectOneMailPerReport(
  sim: LassoSimulator,
  mails: readonly StoredMail[],
  recipientsOf: (customerId: number, reportType: string) => ExpectedRecipients,
): Promise<void> {
  const reports = finishedReports(sim);
  const deliverable = reports.filter((report) => report.status !== "Failed");
  const byFileName = new Map<string, StoredMail[]>();
  for (const mail of mails) {
    for (const attachment of mail.attachments) {
      const name = attachment.filename ?? "";
      byFileName.set(name, [...(byFileName.get(name) ?? []), mail]);
    }
  }
  expect(mails).toHaveLength(deliverable.length);
  for (const report of deliverable) {
    const sent = byFileName.get(report.fileName) ?? [];
    expect(sent, `mails for ${report.fileName}`).toHaveLength(1);
    const mail = sent[0] as StoredMail;
    const expectedRecipients = recipientsOf(Number(report.internalCustomerId), report.reportType);
    expect([...mail.destination.to].sort()).toEqual([...expectedRecipients.to].sort());
    expect([...mail.destination.cc].sort()).toEqual([...expectedRecipients.cc].sort());
    const attachment = mail.attachments.find((a) => a.filename === report.fileName);
    const expected = await sim.pdfBytes(report.itemId);
    expect(expected, `simulator PDF of ${report.itemId}`).toBeDefined();
    expect(
      Buffer.from(attachment?.content ?? "", "base64").equals(Buffer.from(expected ?? new Uint8Array())),
    ).toBe(true);
  }
  for (const report of reports.filter((r) => r.status === "Failed")) {
    expect(
      byFileName.get(report.fileName) ?? [],
      `failed report ${report.fileName} must not be mailed`,
    ).toEqual([]);
  }
}

/** The .eml files parse as mails whose PDF attachment opens. */
export async function expectEmlFilesWithPdfs(dir: string, count: number): Promise<void> {
  const files = (await readdir(dir)).filter((name) => name.endsWith(".eml"));
  expect(files).toHaveLength(count);
  for (const file of files) {
    const parsed = await simpleParser(await readFile(join(dir, file)));
    const pdfs = parsed.attachments.filter((a) => a.contentType === "application/pdf");
    expect(pdfs, file).toHaveLength(1);
    const pdf = pdfs[0];
    expect(pdf?.content.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    await PDFDocument.load(new Uint8Array(pdf?.content ?? Buffer.alloc(0)));
  }
}
