/**
 * A statement as PDF, with pdf-lib: A4, Helvetica (a standard font in WinAnsi encoding,
 * which has æ, ø, å and the rest of Western European text; a character it lacks is drawn
 * as "?"), paginated with a running header (firm, customer, period) and "page i of n".
 * Each customer of an `--all` statement starts on a new page.
 */
import { PDFDocument, type PDFFont, type PDFPage, rgb, StandardFonts } from "pdf-lib";
import { outcomeText, readableTime, type Statement, type StatementCustomer, stateText } from "./statement.ts";

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 50;
const WIDTH = A4[0] - 2 * MARGIN;
const BODY = 9;
const LEADING = 12;
const GREY = rgb(0.35, 0.35, 0.35);

interface Fonts {
  regular: PDFFont;
  bold: PDFFont;
  /** Code points the fonts can draw. */
  drawable: Set<number>;
}

/** The text with every character the font cannot encode replaced by "?". */
export function drawableText(text: string, drawable: ReadonlySet<number>): string {
  let out = "";
  for (const char of text.replace(/[\r\n\t]+/g, " ")) {
    out += drawable.has(char.codePointAt(0) ?? 0) ? char : "?";
  }
  return out;
}

/** Lines of at most `width` points: broken at spaces, a word too long for a line broken anywhere. */
export function wrapText(text: string, font: PDFFont, size: number, width: number): string[] {
  const fits = (line: string): boolean => font.widthOfTextAtSize(line, size) <= width;
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const candidate = line === "" ? word : `${line} ${word}`;
    if (fits(candidate)) {
      line = candidate;
      continue;
    }
    if (line !== "") lines.push(line);
    line = "";
    let rest = word;
    while (!fits(rest)) {
      let cut = rest.length - 1;
      while (cut > 1 && !fits(rest.slice(0, cut))) cut -= 1;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    line = rest;
  }
  if (line !== "" || lines.length === 0) lines.push(line);
  return lines;
}

/** Writes lines top to bottom, starting a new page (with the header) when one is full. */
class Writer {
  #page: PDFPage | undefined;
  #y = 0;
  readonly pages: PDFPage[] = [];

  constructor(
    private readonly doc: PDFDocument,
    private readonly fonts: Fonts,
    private readonly statement: Statement,
  ) {}

  #customer: StatementCustomer | undefined;

  startCustomer(customer: StatementCustomer): void {
    this.#customer = customer;
    this.#newPage();
  }

  #newPage(): void {
    const page = this.doc.addPage(A4);
    this.pages.push(page);
    this.#page = page;
    this.#y = A4[1] - MARGIN;
    const { statement, fonts } = this;
    this.#line(statement.firm, { font: fonts.bold, size: 14 });
    this.#line("Delivery statement: report mails sent through Amazon SES", { size: 11 });
    const customer = this.#customer;
    if (customer !== undefined) {
      this.#line(`Customer ${customer.customerId}: ${customer.customerName}`, { font: fonts.bold, size: 11 });
    }
    this.#line(`Period: ${statement.periodLabel}. Generated ${readableTime(statement.generatedAt)}.`, {
      color: GREY,
    });
    this.#y -= 4;
    page.drawLine({
      start: { x: MARGIN, y: this.#y },
      end: { x: A4[0] - MARGIN, y: this.#y },
      thickness: 0.5,
      color: GREY,
    });
    this.#y -= LEADING;
  }

  /** Room for `lines` more lines on this page, else a new page. */
  keep(lines: number): void {
    if (this.#page === undefined || this.#y - lines * LEADING < MARGIN + 2 * LEADING) this.#newPage();
  }

  #line(
    text: string,
    options: { font?: PDFFont; size?: number; indent?: number; color?: ReturnType<typeof rgb> },
  ): void {
    const font = options.font ?? this.fonts.regular;
    const size = options.size ?? BODY;
    const indent = options.indent ?? 0;
    for (const line of wrapText(drawableText(text, this.fonts.drawable), font, size, WIDTH - indent)) {
      this.#page?.drawText(line, {
        x: MARGIN + indent,
        y: this.#y - size,
        size,
        font,
        color: options.color ?? rgb(0, 0, 0),
      });
      this.#y -= Math.max(LEADING, size + 4);
    }
  }

  /** One line (wrapped), on a new page when this one is full. */
  write(text: string, options: { bold?: boolean; indent?: number; grey?: boolean } = {}): void {
    this.keep(1);
    this.#line(text, {
      font: options.bold ? this.fonts.bold : this.fonts.regular,
      ...(options.indent === undefined ? {} : { indent: options.indent }),
      ...(options.grey ? { color: GREY } : {}),
    });
  }

  gap(points = 6): void {
    this.#y -= points;
  }

  /** "page i of n" and the firm at the foot of every page. */
  footers(): void {
    this.pages.forEach((page, index) => {
      const text = drawableText(
        `${this.statement.firm}: page ${index + 1} of ${this.pages.length}`,
        this.fonts.drawable,
      );
      page.drawText(text, { x: MARGIN, y: MARGIN / 2, size: 8, font: this.fonts.regular, color: GREY });
    });
  }
}

function writeCustomer(writer: Writer, customer: StatementCustomer): void {
  writer.startCustomer(customer);
  if (customer.deliveries.length === 0) {
    writer.write("No report mails were sent to this customer in the period.");
    return;
  }
  customer.deliveries.forEach((delivery, index) => {
    // A delivery's block stays on one page where it fits.
    writer.keep(7 + delivery.recipients.length);
    writer.write(
      `${index + 1}. ${readableTime(delivery.sentAt ?? delivery.archivedAt)}  ${delivery.reportType}  ${delivery.companyName} (CVR ${delivery.cvr})`,
      { bold: true },
    );
    writer.write(`${stateText(delivery)}; ${delivery.kind} send; Lasso batch ${delivery.lassoBatchId}`, {
      indent: 12,
    });
    for (const recipient of delivery.recipients) {
      const when = recipient.at === undefined ? "" : ` ${readableTime(recipient.at)}`;
      const detail =
        recipient.detail === undefined || recipient.outcome === "Delivery" ? "" : ` (${recipient.detail})`;
      writer.write(`To ${recipient.address}: ${outcomeText(recipient.outcome)}${when}${detail}`, {
        indent: 12,
      });
    }
    writer.write(`SES message id: ${delivery.sesMessageId ?? "none (SES did not accept it)"}`, {
      indent: 12,
    });
    writer.write(`PDF SHA-256: ${delivery.pdfSha256}`, { indent: 12 });
    writer.write(`File ${delivery.fileName}; delivery ${delivery.deliveryId}`, { indent: 12, grey: true });
    writer.write(`Archive s3://${delivery.archive.bucket}/${delivery.archive.prefix}`, {
      indent: 12,
      grey: true,
    });
    writer.gap();
  });
  const sent = customer.deliveries.length;
  writer.write(`${sent} report mail${sent === 1 ? "" : "s"} in the period.`, { bold: true });
}

export async function statementPdf(statement: Statement): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const regular = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const fonts: Fonts = { regular, bold, drawable: new Set(regular.getCharacterSet()) };
  const writer = new Writer(doc, fonts, statement);
  if (statement.customers.length === 0) {
    writer.keep(1);
    writer.write("No report mails were sent in the period.");
  }
  for (const customer of statement.customers) writeCustomer(writer, customer);
  if (statement.scope === "all") {
    writer.gap();
    writer.write(
      `Total: ${statement.deliveryCount} report mails to ${statement.customers.length} customers.`,
      { bold: true },
    );
  }
  writer.footers();
  const generated = new Date(statement.generatedAt);
  doc.setTitle(`Delivery statement, ${statement.periodLabel}`);
  doc.setAuthor(statement.firm);
  doc.setProducer("lasso-reports statement (pdf-lib)");
  doc.setCreationDate(generated);
  doc.setModificationDate(generated);
  return doc.save();
}
