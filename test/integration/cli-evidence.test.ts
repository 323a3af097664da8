/**
 * The evidence commands as a subprocess against the local emulators: `deliveries` over
 * the delivery history (every send, each recipient's latest SES outcome, the archive
 * key) and the report records; `statement` as PDF (read back with pdf-lib) and CSV (read
 * back with csv-parse); `download` of Lasso's zip of a batch from the Lasso simulator. The
 * history is written through the store's own functions, as
 * deliver-report and record-ses-event write it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveriesReport } from "#cli/deliveries-view.ts";
import { type LocalStack, startLocalStack } from "#local/aws/local-stack.ts";
import { putCustomerItems } from "#shared/customer-store.ts";
import { LassoClient } from "#shared/lasso/client.ts";
import { stateDocumentClient } from "#shared/runtime/dynamo.ts";
import {
  appendRecipientEvents,
  type DeliveryRecord,
  markDeliveryRejected,
} from "#shared/state/delivery-history.ts";
import { reportKey } from "#shared/state/keys.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import { type CliHarness, cliHarness } from "#test/support/cli-harness.ts";
import { seedDelivery } from "#test/support/delivery-history.ts";
import { pdfText } from "#test/support/pdf-text.ts";
import { customerItem, testCvr } from "#test/support/pipeline.ts";
import { zipEntries } from "#test/support/zip.ts";

let stack: LocalStack;
let harness: CliHarness;
let state: StateTable;
const sent: Record<string, DeliveryRecord> = {};

const CVR2 = testCvr(2);
const ids = (report: { deliveries: { deliveryId: string }[] }): string[] =>
  report.deliveries.map((d) => d.deliveryId);

/** A delivery of customer 1002 (or `customerId`) at `at`, sent, with SES's outcomes appended. */
async function seed(
  name: string,
  at: string,
  options: {
    customerId?: number;
    reportType?: DeliveryRecord["reportType"];
    kind?: DeliveryRecord["kind"];
    recipients?: string[];
    events?: { recipient: string; event: string; at: string; detail?: string }[];
    rejected?: string;
  } = {},
): Promise<void> {
  const customerId = options.customerId ?? 1002;
  const n = customerId - 1000;
  const record = await seedDelivery(state, new Date(at), {
    overrides: {
      customerId,
      customerName: `Kunde ${n} ApS`,
      companyName: n === 2 ? "Ærø Bådeværft ApS" : `Kunde ${n} ApS`,
      cvr: testCvr(n),
      identity: `b-${name}#${testCvr(n)}#${options.reportType ?? "Revision"}`,
      reportType: options.reportType ?? "Revision",
      kind: options.kind ?? "first",
      recipients: options.recipients ?? [`kunde${n}@example.dk`],
    },
    ...(options.rejected === undefined ? {} : { sesMessageId: null }),
  });
  if (options.rejected !== undefined) {
    await markDeliveryRejected(state, record, { reason: options.rejected, at: new Date(at) });
  }
  for (const [index, event] of (options.events ?? []).entries()) {
    await appendRecipientEvents(state, record, {
      eventId: `${name}-${index}`,
      events: [event],
      at: new Date(),
    });
  }
  sent[name] = record;
}

beforeAll(async () => {
  stack = await startLocalStack({ sim: { reportDelayMs: 5 } });
  const doc = stateDocumentClient(stack.dynamo);
  state = { doc, tableName: stack.resources.names.stateTable, retentionDays: 400 };
  await putCustomerItems(doc, stack.resources.names.customersTable, [customerItem(2), customerItem(3)]);
  harness = await cliHarness(stack, { webhookUrl: "http://127.0.0.1:9/webhook", schedules: [] });

  await seed("nov", "2026-11-30T23:59:59.000Z", {
    events: [{ recipient: "kunde2@example.dk", event: "Delivery", at: "2026-12-01T00:00:02.000Z" }],
  });
  await seed("resend", "2026-12-01T10:00:00.000Z", {
    kind: "resend",
    events: [{ recipient: "kunde2@example.dk", event: "DeliveryDelay", at: "2026-12-01T10:05:00.000Z" }],
  });
  await seed("finans", "2026-12-15T08:00:00.000Z", {
    reportType: "Finans",
    recipients: ["bogholder@kunde2.dk", "ejer@kunde2.dk"],
    events: [
      {
        recipient: "bogholder@kunde2.dk",
        event: "Delivery",
        at: "2026-12-15T08:00:03.000Z",
        detail: "250 ok",
      },
      {
        recipient: "ejer@kunde2.dk",
        event: "Bounce",
        at: "2026-12-15T08:00:04.000Z",
        detail: "Permanent/General",
      },
    ],
  });
  await seed("rejected", "2026-12-20T12:00:00.000Z", { rejected: "MessageRejected: bad content" });
  await seed("jan", "2027-01-01T00:00:00.000Z");
  await seed("other", "2026-12-10T09:00:00.000Z", { customerId: 1003 });

  // A report Lasso failed: never mailed, so only its report record tells.
  await doc.send(
    new PutCommand({
      TableName: state.tableName,
      Item: {
        ...reportKey(`b-failed#${CVR2}#Revision`),
        recordType: "report",
        identity: `b-failed#${CVR2}#Revision`,
        lassoBatchId: "b-failed",
        cvr: CVR2,
        reportType: "Revision",
        itemStatus: "Failed",
        customerId: 1002,
        deliveryStatus: "failed",
        reason: "Lasso: report failed",
        createdAt: "2026-12-02T06:00:00.000Z",
        updatedAt: "2026-12-02T06:00:00.000Z",
        outcomeAt: "2026-12-02T06:00:00.000Z",
        expiresAt: 2_000_000_000,
      },
    }),
  );
}, 60_000);

afterAll(async () => {
  await harness?.cleanup();
  await stack?.stop();
});

describe("deliveries", () => {
  it("lists every send of a customer from the history, newest first, with outcomes and archive keys", async () => {
    const { code, data } = await harness.json<DeliveriesReport>(["deliveries", "--customer", "1002"]);
    expect(code).toBe(0);
    expect(ids(data)).toEqual(["jan", "rejected", "finans", "resend", "nov"].map((n) => sent[n]?.deliveryId));
    const finans = data.deliveries.find((d) => d.deliveryId === sent.finans?.deliveryId);
    expect(finans).toMatchObject({
      kind: "first",
      state: "sent",
      reportType: "Finans",
      cvr: CVR2,
      companyName: "Ærø Bådeværft ApS",
      sesMessageId: sent.finans?.sesMessageId,
      sentAt: sent.finans?.sentAt,
      archive: { messageKey: sent.finans?.archive.messageKey },
      recipients: [
        {
          address: "bogholder@kunde2.dk",
          outcome: "Delivery",
          at: "2026-12-15T08:00:03.000Z",
          detail: "250 ok",
        },
        {
          address: "ejer@kunde2.dk",
          outcome: "Bounce",
          at: "2026-12-15T08:00:04.000Z",
          detail: "Permanent/General",
        },
      ],
    });
    // Not every recipient delivered: no delivered time for the send as a whole.
    expect(finans).not.toHaveProperty("deliveredAt");
    const nov = data.deliveries.find((d) => d.deliveryId === sent.nov?.deliveryId);
    expect(nov?.deliveredAt).toBe("2026-12-01T00:00:02.000Z");
    const rejected = data.deliveries.find((d) => d.deliveryId === sent.rejected?.deliveryId);
    expect(rejected).toMatchObject({ state: "rejected", rejectedReason: "MessageRejected: bad content" });
    expect(rejected).not.toHaveProperty("sesMessageId");
    expect(data.deliveriesTotal).toBe(5);
    // The report records are still there, the failed one marked as having no send.
    expect(data.reports).toEqual([
      expect.objectContaining({ state: "failed", lassoBatchId: "b-failed", inHistory: false }),
    ]);
  });

  it("filters by period (both days included, UTC), report type and company", async () => {
    const december = await harness.json<DeliveriesReport>([
      "deliveries",
      "--customer",
      "1002",
      "--from",
      "2026-12-01",
      "--to",
      "2026-12-31",
    ]);
    expect(ids(december.data)).toEqual(["rejected", "finans", "resend"].map((n) => sent[n]?.deliveryId));
    expect(december.data.reports.map((r) => r.lassoBatchId)).toEqual(["b-failed"]);
    const month = await harness.json<DeliveriesReport>([
      "deliveries",
      "--customer",
      "1002",
      "--month",
      "2026-12",
    ]);
    expect(month.data.deliveries).toEqual(december.data.deliveries);

    const finans = await harness.json<DeliveriesReport>([
      "deliveries",
      "--customer",
      "1002",
      "--type",
      "finans",
    ]);
    expect(ids(finans.data)).toEqual([sent.finans?.deliveryId]);
    expect(finans.data.reports).toEqual([]);

    const byCvr = await harness.json<DeliveriesReport>(["deliveries", "--cvr", CVR2, "--to", "2026-11-30"]);
    expect(byCvr.data.customerIds).toEqual([1002]);
    expect(ids(byCvr.data)).toEqual([sent.nov?.deliveryId]);

    const otherCompany = await harness.json<DeliveriesReport>([
      "deliveries",
      "--customer",
      "1002",
      "--cvr",
      testCvr(3),
    ]);
    expect(otherCompany.data.deliveries).toEqual([]);

    const limited = await harness.json<DeliveriesReport>([
      "deliveries",
      "--customer",
      "1002",
      "--limit",
      "2",
    ]);
    expect(ids(limited.data)).toEqual(["jan", "rejected"].map((n) => sent[n]?.deliveryId));
    expect(limited.data.deliveriesTotal).toBe(5);
  });

  it("as text: one row per send with each recipient's outcome, then the reports with no send", async () => {
    const run = await harness.cli(["deliveries", "--customer", "1002", "--from", "2026-12-15"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Sends to customer 1002, from 2026-12-15 (UTC), newest first:");
    expect(run.stdout).toContain("bogholder@kunde2.dk: Delivery 2026-12-15T08:00:03.000Z");
    expect(run.stdout).toContain("ejer@kunde2.dk: Bounce 2026-12-15T08:00:04.000Z");
    expect(run.stdout).toContain(String(sent.finans?.archive.messageKey));
    expect(run.stdout).toContain("rejected: MessageRejected: bad content");
    expect(run.stdout).not.toContain(String(sent.resend?.deliveryId));
    // The failed report is of 2026-12-02: outside this period.
    expect(run.stdout).not.toContain("Reports with no send in the history");

    const all = await harness.cli(["deliveries", "--customer", "1002"]);
    expect(all.stdout).toMatch(/Reports with no send in the history[^\n]*\n[\s\S]*b-failed[\s\S]*failed/);
  });
});

describe("statement", () => {
  const FIRM = "Revisionsfirmaet Ærø & Søn";
  const december = ["resend", "finans", "rejected"];

  it("PDF: one customer's period, exactly its sends, with times, recipients, SES ids and PDF hashes", async () => {
    const out = join(harness.dir, "statement-1002.pdf");
    const { code, data } = await harness.json<{ file: string; deliveries: number; sha256: string }>([
      "statement",
      "--customer",
      "1002",
      "--from",
      "2026-12-01",
      "--to",
      "2026-12-31",
      "--firm",
      FIRM,
      "--out",
      out,
    ]);
    expect(code).toBe(0);
    expect(data).toMatchObject({ file: out, deliveries: 3 });
    const text = await pdfText(await readFile(out));
    const all = text.pages.flat().join("\n");
    expect(text.pages[0]?.slice(0, 3)).toEqual([
      FIRM,
      "Delivery statement: report mails sent through Amazon SES",
      "Customer 1002: Kunde 2 ApS",
    ]);
    expect(all).toContain("Period: 2026-12-01 to 2026-12-31 (UTC).");
    expect(all).toContain(`Ærø Bådeværft ApS (CVR ${CVR2})`);
    for (const name of december) expect(all).toContain(`; delivery ${sent[name]?.deliveryId}`);
    for (const name of ["nov", "jan", "other"]) expect(all).not.toContain(String(sent[name]?.deliveryId));
    for (const name of ["resend", "finans"])
      expect(all).toContain(`SES message id: ${sent[name]?.sesMessageId}`);
    for (const name of december) expect(all).toContain(`PDF SHA-256: ${sent[name]?.pdfSha256}`);
    expect(all).toContain("To bogholder@kunde2.dk: delivered 2026-12-15 08:00:03 UTC");
    expect(all).toContain("To ejer@kunde2.dk: bounced 2026-12-15 08:00:04 UTC (Permanent/General)");
    expect(all).toContain("To kunde2@example.dk: delayed (SES still trying) 2026-12-01 10:05:00 UTC");
    expect(all).toContain("SES message id: none (SES did not accept it)");
    expect(all).toContain("3 report mails in the period.");
    expect(all).toContain(`${FIRM}: page 1 of ${text.pageCount}`);
  });

  it("CSV for every customer of a month: BOM, ';', one row per recipient of each send", async () => {
    const out = join(harness.dir, "statement-all.csv");
    const run = await harness.cli([
      "statement",
      "--all",
      "--month",
      "2026-12",
      "--format",
      "csv",
      "--firm",
      FIRM,
      "--out",
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const bytes = await readFile(out);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const content = bytes.toString("utf8").slice(1);
    expect(content.split("\r\n")[0]).toMatch(/^firm;customerId;customerName;deliveryId;/);
    const rows = parse(content, { delimiter: ";", columns: true }) as Record<string, string>[];
    // resend (1 recipient), finans (2), rejected (1) of 1002; other (1) of 1003.
    expect(rows.map((row) => [row.customerId, row.deliveryId, row.recipient])).toEqual([
      ["1002", sent.resend?.deliveryId, "kunde2@example.dk"],
      ["1002", sent.finans?.deliveryId, "bogholder@kunde2.dk"],
      ["1002", sent.finans?.deliveryId, "ejer@kunde2.dk"],
      ["1002", sent.rejected?.deliveryId, "kunde2@example.dk"],
      ["1003", sent.other?.deliveryId, "kunde3@example.dk"],
    ]);
    expect(rows[1]).toMatchObject({
      firm: FIRM,
      companyName: "Ærø Bådeværft ApS",
      outcome: "Delivery",
      deliveredAt: "2026-12-15T08:00:03.000Z",
      sesMessageId: sent.finans?.sesMessageId,
      pdfSha256: sent.finans?.pdfSha256,
      archiveMessageKey: sent.finans?.archive.messageKey,
    });
    expect(rows[2]).toMatchObject({ outcome: "Bounce", deliveredAt: "" });
  });

  it("CSV to stdout with --out -; the firm from LASSO_REPORTS_FIRM; usage errors exit 2", async () => {
    process.env.LASSO_REPORTS_FIRM = "Firma fra miljøet";
    const stdout = await harness
      .cli(["statement", "--customer", "1003", "--month", "2026-12", "--format", "csv", "--out", "-"])
      .finally(() => {
        delete process.env.LASSO_REPORTS_FIRM;
      });
    expect(stdout.code, stdout.stderr).toBe(0);
    expect(stdout.stdout.startsWith("\uFEFFfirm;")).toBe(true);
    expect(stdout.stdout).toContain("\r\nFirma fra miljøet;1003;");
    expect(stdout.stdout).toContain(String(sent.other?.deliveryId));

    for (const args of [
      ["statement", "--customer", "1002", "--month", "2026-12"],
      ["statement", "--customer", "1002", "--from", "2026-12-01", "--firm", "F"],
      ["statement", "--all", "--from", "2026-12-01", "--to", "2026-12-31", "--firm", "F"],
      ["statement", "--customer", "1002", "--month", "2026-12", "--firm", "F", "--out", "-"],
    ]) {
      const run = await harness.cli(args);
      expect(run.code, args.join(" ")).toBe(2);
    }
  });
  it("without --firm or LASSO_REPORTS_FIRM, the statement names the target's firm (the deploy config's firm.name)", async () => {
    const original = await readFile(harness.endpointsFile, "utf8");
    await writeFile(
      harness.endpointsFile,
      JSON.stringify({ ...JSON.parse(original), firmName: "Revisorhuset Målet ApS" }),
    );
    const run = await harness
      .cli(["statement", "--customer", "1003", "--month", "2026-12", "--format", "csv", "--out", "-"])
      .finally(() => writeFile(harness.endpointsFile, original));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("\r\nRevisorhuset Målet ApS;1003;");
  });
});

describe("download", () => {
  it("saves Lasso's zip of a batch: every finished report's PDF, byte for byte", async () => {
    const lasso = new LassoClient({ baseUrl: stack.sim.baseUrl, apiKey: stack.sim.apiKey, timeoutMs: 5000 });
    const cvrs = [testCvr(2), testCvr(3)];
    const created = await lasso.createBatch(
      {
        batchName: "download test [download-test]",
        type: "Revision",
        format: "{cvr}-{type}",
        items: cvrs.map((cvr, index) => ({ cvr, internalCustomerId: 1002 + index })),
      },
      { uniqueToken: "download-test" },
    );
    const deadline = Date.now() + 15_000;
    while ((await lasso.getBatch(created.id)).status !== "Finished") {
      if (Date.now() > deadline) throw new Error("the simulator did not finish the batch");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const items = [];
    for await (const item of lasso.iterateItems(created.id)) items.push(item);

    const out = join(harness.dir, "lasso.zip");
    const { code, data } = await harness.json<{ file: string; bytes: number; sha256: string }>([
      "download",
      "--batch",
      created.id,
      "--out",
      out,
    ]);
    expect(code).toBe(0);
    const saved = await readFile(out);
    expect(data).toMatchObject({ file: out, bytes: saved.byteLength });
    const entries = await zipEntries(saved);
    expect([...entries.keys()].sort()).toEqual(items.map((item) => item.fileName).sort());
    for (const item of items) {
      const pdf = Buffer.from(await (await fetch(String(item.pdfUrl))).arrayBuffer());
      expect(Buffer.compare(entries.get(String(item.fileName)) ?? Buffer.alloc(0), pdf), item.fileName).toBe(
        0,
      );
    }
  });

  it("an unknown batch fails with Lasso's answer (exit 1); a malformed id is a usage error (exit 2)", async () => {
    const unknown = await harness.cli([
      "download",
      "--batch",
      "00000000-0000-4000-8000-000000000000",
      "--out",
      join(harness.dir, "x.zip"),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404|not found/i);
    expect((await harness.cli(["download", "--batch", "../etc"])).code).toBe(2);
    expect((await harness.cli(["download"])).code).toBe(2);
  });
});
