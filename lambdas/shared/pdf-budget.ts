/**
 * How large a PDF deliver-report may fetch, given its memory: one invocation delivers its
 * whole SQS batch in parallel (Powertools' BatchProcessor), and each delivery holds the PDF
 * about three times at its peak (the fetched buffer, the base64 MIME text, the raw message
 * handed to SES). The PDFs of a full batch may take at most {@link PDF_MEMORY_SHARE} of the
 * function's memory; the rest is for the runtime, the SDK clients and the requests' own
 * copies. Checked at synth (lib/config/schema.ts) and again at cold start (config.ts).
 */

/** The default PDF size cap: 5 parallel deliveries × 3 copies × 40 MiB fit 1024 MB. */
export const DEFAULT_MAX_PDF_BYTES = 40 * 1024 * 1024;

/** Copies of one PDF a delivery holds at its peak. */
export const PDF_COPIES_IN_MEMORY = 3;
/** The share of the function's memory the PDFs of one batch may fill. */
export const PDF_MEMORY_SHARE = 0.6;

/** The largest `maxPdfBytes` that fits `memoryMb` with `parallelDeliveries` at once. */
export function maxPdfBytesFor(memoryMb: number, parallelDeliveries: number): number {
  const budget = memoryMb * 1024 * 1024 * PDF_MEMORY_SHARE;
  return Math.floor(budget / (PDF_COPIES_IN_MEMORY * Math.max(1, parallelDeliveries)));
}
