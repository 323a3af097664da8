/**
 * Property-based test (fast-check) of the webhook payload parser: whatever arrives at the
 * door (any JSON, any value, field names in any spelling with values of any type), the
 * answer is `{ ok: true, messages }` or `{ ok: false, reason }`, never an exception.
 * Only that shape is asserted: the messages' content is the parser's own tests' business.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parseWebhookPayload } from "#shared/webhook-payload.ts";

const FIELD_NAMES = [
  "batchId",
  "BatchId",
  "batchid",
  "lassoId",
  "LassoId",
  "reportType",
  "ReportType",
  "printType",
  "status",
  "Status",
  "pdfUrl",
  "pdfurl",
  "PdfUrl",
  "cvr",
  "internalCustomerId",
  "InternalCustomerId",
  "fileName",
  "companyName",
  "id",
  "itemId",
  "errorMessage",
  "finishedAt",
  "data",
  "item",
  "report",
  "payload",
  "body",
  "__proto__",
  "constructor",
];

const fieldValue = fc.oneof(
  fc.string(),
  fc.constantFrom(
    "CVR-1-34580820",
    "cvr-1-12345678",
    "{3F2504E0-4F89-11D3-9A0C-0305E82C3301}",
    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "Completed",
    "Failed",
    "Warning",
    "Revision",
    "https://api.lassox.com/x.pdf",
    "http://169.254.169.254/",
    "",
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.anything(),
);

const report: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ report: Record<string, unknown> }>(
  (tie) => ({
    report: fc.dictionary(
      fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string()),
      fc.oneof({ depthSize: "small" }, fieldValue, tie("report")),
      { maxKeys: 10 },
    ),
  }),
).report;

const body = fc.oneof(
  fc.anything({ withObjectString: true, withNullPrototype: true, withBigInt: true, withDate: true }),
  fc.json(),
  report,
  fc.array(report, { maxLength: 12 }),
  report.map((value) => JSON.stringify(value)),
  fc.array(report, { maxLength: 3 }).map((value) => JSON.stringify(JSON.stringify(value))),
);

describe("parseWebhookPayload: messages or a reason, never an exception", () => {
  test("any body, any time", () => {
    fc.assert(
      fc.property(body, fc.date({ noInvalidDate: true }), (value, now) => {
        let result: unknown;
        expect(() => {
          result = parseWebhookPayload(value, now);
        }).not.toThrow();
        const answer = result as { ok?: unknown; messages?: unknown; reason?: unknown };
        if (answer.ok === true) expect(Array.isArray(answer.messages)).toBe(true);
        else {
          expect(answer.ok).toBe(false);
          expect(typeof answer.reason).toBe("string");
        }
      }),
      { numRuns: 3000 },
    );
    // 3,000 bodies take about 2 s alone and longer on a busy machine: a generous limit.
  }, 60_000);
});
