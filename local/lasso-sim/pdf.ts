/**
 * Real (small) report PDFs made with pdf-lib: one A4 page with the company name, cvr, report
 * type, run date, balance date and status. The standard Helvetica font encodes WinAnsi
 * (Windows-1252): æ, ø, å and the other Danish letters are in it; any character it cannot
 * encode is dropped. The document dates are the report's timestamp, so the same report
 * always gives the same bytes.
 */

import { PDFDocument, type PDFFont, rgb, StandardFonts } from "pdf-lib";

export interface ReportPdfInput {
  companyName: string | null;
  cvr: string;
  reportType: string;
  runDate: Date;
  balanceDate: Date | undefined;
  status: string;
  batchName: string;
  reportId: string;
  message: string | null;
}

/** Keeps only the characters the font can encode (after NFC normalisation). */
export function encodableText(text: string, charset: ReadonlySet<number>): string {
  let out = "";
  for (const ch of text.normalize("NFC")) {
    const code = ch.codePointAt(0);
    if (code !== undefined && charset.has(code)) out += ch;
  }
  return out;
}

const isoDate = (date: Date): string => date.toISOString().slice(0, 10);

function wrap(text: string, font: PDFFont, size: number, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    const candidate = line === "" ? word : `${line} ${word}`;
    if (line !== "" && font.widthOfTextAtSize(candidate, size) > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

export async function renderReportPdf(input: ReportPdfInput): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const charset = new Set(font.getCharacterSet());
  const clean = (text: string): string => encodableText(text, charset);

  const title = `Lasso X ${input.reportType}-rapport`;
  doc.setTitle(clean(`${title}: ${input.companyName ?? input.cvr}`));
  doc.setAuthor("Lasso X (simulator)");
  doc.setProducer("lasso-sim");
  doc.setCreator("lasso-sim");
  doc.setCreationDate(input.runDate);
  doc.setModificationDate(input.runDate);

  const page = doc.addPage([595.28, 841.89]);
  const left = 56;
  let y = 780;
  page.drawText(clean(title), { x: left, y, size: 20, font: bold, color: rgb(0.1, 0.2, 0.45) });
  y -= 36;
  page.drawText(clean(input.companyName ?? "Ukendt virksomhed"), { x: left, y, size: 16, font: bold });
  y -= 30;
  const rows: [string, string][] = [
    ["CVR", input.cvr],
    ["Rapporttype", input.reportType],
    ["Kørselsdato", isoDate(input.runDate)],
    ["Balancedag", input.balanceDate === undefined ? "-" : isoDate(input.balanceDate)],
    ["Status", input.status],
    ["Batch", input.batchName],
    ["Rapport-id", input.reportId],
  ];
  for (const [label, value] of rows) {
    page.drawText(clean(`${label}:`), { x: left, y, size: 11, font: bold });
    page.drawText(clean(value), { x: left + 110, y, size: 11, font });
    y -= 18;
  }
  if (input.message !== null) {
    y -= 12;
    for (const line of wrap(clean(input.message), font, 11, 480)) {
      page.drawText(line, { x: left, y, size: 11, font, color: rgb(0.6, 0.1, 0.1) });
      y -= 16;
    }
  }
  page.drawText(clean("Genereret af Lasso-simulatoren til test. Ikke et rigtigt dokument."), {
    x: left,
    y: 60,
    size: 8,
    font,
    color: rgb(0.4, 0.4, 0.4),
  });
  return doc.save();
}
