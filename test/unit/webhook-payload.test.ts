import { describe, expect, test } from "vitest";
import { reportReadyMessageSchema } from "#shared/report-ready.ts";
import {
  jsonNestingExceeds,
  MAX_EXTRA_JSON_CHARS,
  MAX_WEBHOOK_JSON_DEPTH,
  parseWebhookPayload,
} from "#shared/webhook-payload.ts";

const NOW = new Date("2024-05-01T10:00:00.000Z");

/** The simulator's payload (local/lasso-sim/README.md), our best guess of Lasso's. */
const simulatorPayload = {
  batchId: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
  batchName: "Kvartal 2024-05-01 (1/1)",
  lassoId: "CVR-1-34580820",
  cvr: 34580820,
  companyName: "Nørregaard Revision ApS",
  reportType: "Revision",
  printType: 0,
  status: "Completed",
  pdfUrl: "https://files.lassox.com/files/abc/def.pdf",
  fileName: "1234_34580820-Nørregaard Revision ApS-Revision.pdf",
  internalCustomerId: 1234,
  reportId: "7f2c1c9e-0a51-4c1a-9d7e-4d1b0b8f2f11",
  timestamp: "2024-05-01T09:59:58.000Z",
  errorMessage: null,
};

function parseOne(body: unknown) {
  const result = parseWebhookPayload(body, NOW);
  if (!result.ok) throw new Error(`expected a message, got: ${result.reason}`);
  expect(result.messages).toHaveLength(1);
  const [message] = result.messages;
  // Whatever the parser makes must pass the queue's schema.
  expect(reportReadyMessageSchema.safeParse(message).success).toBe(true);
  return message;
}

describe("parseWebhookPayload", () => {
  test("turns the simulator's payload into a report-ready message, unknown fields kept", () => {
    expect(parseOne(simulatorPayload)).toEqual({
      version: 1,
      batchId: simulatorPayload.batchId,
      cvr: "34580820",
      reportType: "Revision",
      itemStatus: "Completed",
      internalCustomerId: 1234,
      reportId: simulatorPayload.reportId,
      lassoId: "CVR-1-34580820",
      companyName: "Nørregaard Revision ApS",
      pdfUrl: simulatorPayload.pdfUrl,
      fileName: simulatorPayload.fileName,
      finishedAt: simulatorPayload.timestamp,
      source: "webhook",
      seenAt: NOW.toISOString(),
      extra: { batchName: simulatorPayload.batchName },
    });
  });

  test("reads field names in any casing and enums given as numbers", () => {
    const message = parseOne({
      BatchID: "{0F0E0D0C-0B0A-4909-8807-060504030201}",
      CVR: "34 58 08 20",
      Status: 1,
      PrintType: 3,
      PDFURL: "https://files.lassox.com/x.pdf",
      file_name: "x.pdf",
      InternalCustomerId: "42",
      ErrorMessage: "Regnskab mangler",
    });
    expect(message).toMatchObject({
      batchId: "0f0e0d0c-0b0a-4909-8807-060504030201",
      cvr: "34580820",
      itemStatus: "Warning",
      reportType: "RevisionUdvidet",
      pdfUrl: "https://files.lassox.com/x.pdf",
      fileName: "x.pdf",
      internalCustomerId: 42,
      errorMessage: "Regnskab mangler",
    });
    expect(message?.extra).toBeUndefined();
  });

  test("the report type is an enum: an unknown one, or two that disagree, name no report", () => {
    expect(parseOne({ ...simulatorPayload, reportType: "ReelleEjere", printType: 2 })?.reportType).toBe(
      "ReelleEjere",
    );
    expect(parseWebhookPayload({ ...simulatorPayload, reportType: "Finans", printType: 0 }, NOW)).toEqual({
      ok: false,
      reason: "the report type is given twice, differently",
    });
    expect(parseWebhookPayload({ ...simulatorPayload, reportType: "Nonsense", printType: 2 }, NOW)).toEqual({
      ok: false,
      reason: "unknown report type",
    });
    // `type` is a loose alias (it may mean something else): an unknown value there is ignored.
    const { reportType: _r, printType: _p, ...untyped } = simulatorPayload;
    expect(parseOne({ ...untyped, type: "ReportFinished" })?.reportType).toBeUndefined();
    expect(parseOne(untyped)?.reportType).toBeUndefined();
  });

  test("batch ids are GUIDs in one canonical form; anything else names no batch", () => {
    const id = simulatorPayload.batchId;
    for (const spelling of [id.toUpperCase(), `{${id}}`, `  ${id}\t`, `{${id.toUpperCase()}}`]) {
      expect(parseOne({ ...simulatorPayload, batchId: spelling })?.batchId).toBe(id);
    }
    for (const bad of [`${id}\u200b`, `\u200b${id}`, id.replace("-", ""), "b-1", `${id}x`, `{{${id}}}`]) {
      expect(parseWebhookPayload({ ...simulatorPayload, batchId: bad }, NOW)).toEqual({
        ok: false,
        reason: "the batch id is not a GUID",
      });
    }
  });

  test("nesting is measured before parsing: a body thousands deep is refused, strings do not count", () => {
    expect(jsonNestingExceeds(`${"[".repeat(10_000)}${"]".repeat(10_000)}`, MAX_WEBHOOK_JSON_DEPTH)).toBe(
      true,
    );
    expect(jsonNestingExceeds(JSON.stringify({ a: { b: [1, { c: 2 }] } }), 3)).toBe(true);
    expect(jsonNestingExceeds(JSON.stringify({ a: { b: [1, { c: 2 }] } }), 4)).toBe(false);
    expect(jsonNestingExceeds(JSON.stringify({ s: '[[[[[[{{{{"[[[[' }), 1)).toBe(false);
    expect(jsonNestingExceeds(JSON.stringify(simulatorPayload), MAX_WEBHOOK_JSON_DEPTH)).toBe(false);
  });

  test("takes the company from lassoId when there is no cvr field", () => {
    const { cvr: _cvr, ...withoutCvr } = simulatorPayload;
    expect(parseOne(withoutCvr)?.cvr).toBe("34580820");
  });

  test("keeps a cvr that fails the check digit (Lasso ran it and failed it)", () => {
    expect(parseOne({ ...simulatorPayload, cvr: 34580821, status: "Failed" })?.cvr).toBe("34580821");
  });

  test("reads a report wrapped one level deep and a double-encoded body", () => {
    expect(parseOne({ data: simulatorPayload })?.batchId).toBe(simulatorPayload.batchId);
    expect(parseOne(JSON.stringify(simulatorPayload))?.batchId).toBe(simulatorPayload.batchId);
  });

  test("refuses what cannot be routed, saying why", () => {
    const { batchId: _b, ...noBatch } = simulatorPayload;
    const { status: _s, ...noStatus } = simulatorPayload;
    const { cvr: _c, lassoId: _l, ...noCompany } = simulatorPayload;
    expect(parseWebhookPayload(noBatch, NOW)).toEqual({ ok: false, reason: "no batch id" });
    expect(parseWebhookPayload(noStatus, NOW)).toEqual({ ok: false, reason: "no report status" });
    expect(parseWebhookPayload({ ...simulatorPayload, status: "Exploded" }, NOW)).toEqual({
      ok: false,
      reason: "unknown report status",
    });
    expect(parseWebhookPayload(noCompany, NOW)).toEqual({ ok: false, reason: "no company (cvr or lassoId)" });
    expect(parseWebhookPayload({ ...noCompany, cvr: "1234" }, NOW)).toEqual({
      ok: false,
      reason: "no company (cvr or lassoId)",
    });
    expect(parseWebhookPayload(42, NOW)).toEqual({ ok: false, reason: "the report is not a JSON object" });
    expect(parseWebhookPayload([], NOW)).toEqual({ ok: false, reason: "no report in the body" });
  });

  test("takes a list of reports only when every one is routable", () => {
    const second = { ...simulatorPayload, cvr: 29402426, lassoId: "CVR-1-29402426" };
    const both = parseWebhookPayload([simulatorPayload, second], NOW);
    expect(both.ok && both.messages.map((m) => m.cvr)).toEqual(["34580820", "29402426"]);
    const { batchId: _b, ...broken } = second;
    expect(parseWebhookPayload([simulatorPayload, broken], NOW)).toEqual({
      ok: false,
      reason: "report 1: no batch id",
    });
  });

  test("cleans control characters from text that may reach e-mail headers", () => {
    const message = parseOne({ ...simulatorPayload, companyName: "Evil A/S\r\nBcc: victim@example.com" });
    expect(message?.companyName).toBe("Evil A/S Bcc: victim@example.com");
  });

  test("ignores a customer id that is not an integer and a pdf link that is absurdly long, with notes", () => {
    const result = parseWebhookPayload(
      { ...simulatorPayload, internalCustomerId: "abc", pdfUrl: `https://x/${"a".repeat(5000)}` },
      NOW,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.messages[0]?.internalCustomerId).toBeUndefined();
    expect(result.messages[0]?.pdfUrl).toBeUndefined();
    expect(result.notes).toHaveLength(2);
  });

  test("does not keep unknown fields beyond the size bound", () => {
    const result = parseWebhookPayload({ ...simulatorPayload, blob: "x".repeat(MAX_EXTRA_JSON_CHARS) }, NOW);
    expect(result.ok && result.messages[0]?.extra).toBeUndefined();
    expect(result.ok && result.notes[0]).toMatch(/not kept/);
  });
});
