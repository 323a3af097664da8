/**
 * The text a PDF made by pdf-lib shows, page by page, without a PDF text extractor: pdf-lib
 * reads the file back (so it opens), each page's content streams are inflated (zlib) and
 * the strings of its text operators (`<hex> Tj`, standard fonts in WinAnsi) decoded. Good
 * for our own statements, not for PDFs in general.
 */
import { inflateSync } from "node:zlib";
import iconv from "iconv-lite";
import { PDFArray, PDFDocument, PDFName, PDFRawStream, type PDFRef } from "pdf-lib";

export interface PdfText {
  pageCount: number;
  /** Each page's text lines, in drawing order. */
  pages: string[][];
  title: string | undefined;
}

function streamBytes(stream: PDFRawStream): Buffer {
  const filter = stream.dict.get(PDFName.of("Filter"));
  const raw = Buffer.from(stream.contents);
  return filter === undefined ? raw : inflateSync(raw);
}

export async function pdfText(bytes: Uint8Array): Promise<PdfText> {
  const doc = await PDFDocument.load(bytes);
  const pages = doc.getPages().map((page) => {
    const contents = page.node.Contents();
    const refs = contents instanceof PDFArray ? contents.asArray() : contents === undefined ? [] : [contents];
    const lines: string[] = [];
    for (const ref of refs) {
      const stream = doc.context.lookup(ref as PDFRef);
      if (!(stream instanceof PDFRawStream)) continue;
      const operators = streamBytes(stream).toString("latin1");
      for (const match of operators.matchAll(/<([0-9A-Fa-f]*)>\s*Tj/g)) {
        lines.push(iconv.decode(Buffer.from(match[1] ?? "", "hex"), "win1252"));
      }
    }
    return lines;
  });
  return { pageCount: doc.getPageCount(), pages, title: doc.getTitle() };
}
