/**
 * The statement's renderers on a statement made here: the PDF opens in pdf-lib, is
 * paginated with every send exactly once, draws Danish letters and replaces what
 * Helvetica (WinAnsi) cannot; the CSV is Excel's (BOM, `;`, CRLF) and reads back.
 */
import { parse } from "csv-parse/sync";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { describe, expect, it } from "vitest";
import type { DeliveryView } from "#cli/deliveries-view.ts";
import type { Statement } from "#cli/statement.ts";
import { statementCsv } from "#cli/statement-csv.ts";
import { drawableText, statementPdf, wrapText } from "#cli/statement-pdf.ts";
import { archiveLocation } from "#shared/state/delivery-history.ts";
import { pdfText } from "#test/support/pdf-text.ts";

const delivery = (i: number, overrides: Partial<DeliveryView> = {}): DeliveryView => {
  const deliveryId = `20261201T10${String(Math.floor(i / 60)).padStart(2, "0")}${String(i % 60).padStart(2, "0")}000Z-${String(i).padStart(8, "0")}`;
  return {
    deliveryId,
    customerId: 1002,
    customerName: "Ærø Bådeværft ApS",
    kind: "first",
    state: "sent",
    reportType: "Revision",
    cvr: "34580820",
    companyName: "Ærø Bådeværft ApS",
    lassoBatchId: "b-1",
    identity: `b-1#34580820#Revision#${i}`,
    source: "poll",
    recipients: [{ address: "bogholder@aeroe.dk", outcome: "Delivery", at: "2026-12-01T10:45:15.000Z" }],
    archivedAt: "2026-12-01T10:45:12.000Z",
    sentAt: "2026-12-01T10:45:13.000Z",
    sesMessageId: `ses-${i}`,
    pdfSha256: `${String(i).padStart(4, "0")}${"a".repeat(60)}`,
    messageSha256: "b".repeat(64),
    fileName: `34580820-Revision-${i}.pdf`,
    archive: archiveLocation("archive", 1002, deliveryId),
    ...overrides,
  };
};

const statement = (deliveries: DeliveryView[], firm = "Revisionsfirmaet Ærø & Søn"): Statement => ({
  firm,
  scope: "customer",
  from: "2026-12-01T00:00:00.000Z",
  to: "2027-01-01T00:00:00.000Z",
  periodLabel: "2026-12-01 to 2026-12-31 (UTC)",
  generatedAt: "2027-01-02T08:00:00.000Z",
  customers: [{ customerId: 1002, customerName: "Ærø Bådeværft ApS", deliveries }],
  deliveryCount: deliveries.length,
});

describe("statement PDF", () => {
  it("paginates 60 sends, each exactly once, page i of n on every page", async () => {
    const sends = Array.from({ length: 60 }, (_, i) => delivery(i));
    const text = await pdfText(await statementPdf(statement(sends)));
    expect(text.pageCount).toBeGreaterThan(3);
    expect(text.title).toBe("Delivery statement, 2026-12-01 to 2026-12-31 (UTC)");
    const lines = text.pages.flat();
    for (const send of sends) {
      expect(
        lines.filter((line) => line === `SES message id: ${send.sesMessageId}`),
        send.deliveryId,
      ).toHaveLength(1);
    }
    text.pages.forEach((page, index) => {
      expect(page[0]).toBe("Revisionsfirmaet Ærø & Søn");
      expect(page).toContain("Customer 1002: Ærø Bådeværft ApS");
      expect(page.at(-1)).toBe(`Revisionsfirmaet Ærø & Søn: page ${index + 1} of ${text.pageCount}`);
    });
    expect(lines).toContain("60 report mails in the period.");
  });

  it("a statement of no sends says so", async () => {
    const text = await pdfText(await statementPdf(statement([])));
    expect(text.pageCount).toBe(1);
    expect(text.pages[0]).toContain("No report mails were sent to this customer in the period.");
  });

  it("draws æøå and replaces a letter WinAnsi lacks (ł) with ?", async () => {
    const text = await pdfText(
      await statementPdf(statement([delivery(1, { companyName: "Łódź Møbler ApS" })])),
    );
    expect(text.pages.flat().join("\n")).toContain("?ód? Møbler ApS (CVR 34580820)");
  });

  it("wraps a line too long for the page, at spaces, and a word too long anywhere", async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const lines = wrapText(`kort ${"x".repeat(200)} slut`, font, 9, 200);
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(font.widthOfTextAtSize(line, 9)).toBeLessThanOrEqual(200);
    expect(lines.join("").replaceAll(" ", "")).toBe(`kort${"x".repeat(200)}slut`);
    expect(drawableText("a\tb\r\nc€", new Set(font.getCharacterSet()))).toBe("a b c€");
  });
});

describe("statement CSV", () => {
  it("has a BOM, ';' and CRLF, one row per recipient, formulas neutralised", () => {
    const csv = statementCsv(
      statement([
        delivery(1, {
          companyName: '=HYPERLINK("x")',
          recipients: [
            { address: "a@aeroe.dk", outcome: "Delivery", at: "2026-12-01T10:45:15.000Z" },
            { address: "b@aeroe.dk" },
          ],
        }),
      ]),
    );
    expect(csv.startsWith("\uFEFFfirm;customerId;")).toBe(true);
    expect(csv.endsWith("\r\n")).toBe(true);
    const rows = parse(csv.slice(1), { delimiter: ";", columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      firm: "Revisionsfirmaet Ærø & Søn",
      companyName: '\'=HYPERLINK("x")',
      recipient: "a@aeroe.dk",
      outcome: "Delivery",
      deliveredAt: "2026-12-01T10:45:15.000Z",
      sesMessageId: "ses-1",
    });
    expect(rows[1]).toMatchObject({ recipient: "b@aeroe.dk", outcome: "", deliveredAt: "" });
  });
});
