/**
 * What the delivery asks our records and Lasso about a report it is given: the batch's
 * facts (type, listener, manifest), and the report's current pdf link.
 */
import type { LassoClient } from "#shared/lasso/client.ts";
import { LISTENABLE_REPORT_TYPES, type ReportType } from "#shared/lasso/enums.ts";
import { isNotFound } from "#shared/lasso/errors.ts";
import { type FetchedPdf, PdfFetchError } from "#shared/pdf/fetch.ts";
import type { ReportReadyMessage } from "#shared/report-ready.ts";
import type { Log } from "#shared/runtime/log.ts";
import type { BatchFactsCache, RoutingFactsReader } from "#shared/state/batch-facts-cache.ts";
import { getBatchRoutingFacts } from "#shared/state/batches.ts";
import type { ManifestEntry } from "#shared/state/records.ts";
import type { StateTable } from "#shared/state/state-table.ts";
import {
  isRetryableLasso,
  RetryLaterError,
  retryLaterForLasso,
  UnidentifiableReportError,
} from "./errors.ts";

/** The parts of the Lasso client the delivery uses: look-ups, and a ring's reconciliation. */
export type LassoReader = Pick<LassoClient, "getBatch" | "iterateItems" | "listItems">;

export interface BatchFacts {
  reportType: ReportType;
  isListener: boolean;
  manifest?: ManifestEntry[];
  /** One of our runs made the batch: its manifest is the whole truth of who is in it. */
  submittedByUs: boolean;
}

/**
 * The report type and listener flag from the batch record (cached per container); else,
 * for a type that cannot listen, from the message; else from Lasso's getBatch.
 */
export async function batchFacts(
  message: ReportReadyMessage,
  ports: {
    state: StateTable;
    lasso: () => Promise<LassoReader>;
    batchFacts?: BatchFactsCache<BatchFacts>;
    routingFacts?: RoutingFactsReader;
  },
): Promise<BatchFacts> {
  const load = () => readBatchFacts(message, ports);
  if (ports.batchFacts === undefined) return (await load()).facts;
  return ports.batchFacts.get(message.batchId, load);
}

/** `keep`: the facts came from our record, which never changes (not from the message or Lasso). */
async function readBatchFacts(
  message: ReportReadyMessage,
  ports: { state: StateTable; lasso: () => Promise<LassoReader>; routingFacts?: RoutingFactsReader },
): Promise<{ facts: BatchFacts; keep: boolean }> {
  const record = await (ports.routingFacts ?? getBatchRoutingFacts)(ports.state, message.batchId);
  if (record !== undefined) {
    const facts: BatchFacts = {
      reportType: record.reportType,
      isListener: record.isListener,
      manifest: record.manifest,
      // Every record but an adopted one was written by a submission, with its manifest.
      submittedByUs: record.adoptedAt === undefined,
    };
    return { facts, keep: true };
  }
  if (message.reportType !== undefined && !LISTENABLE_REPORT_TYPES.has(message.reportType)) {
    return {
      facts: { reportType: message.reportType, isListener: false, submittedByUs: false },
      keep: false,
    };
  }
  try {
    const batch = await (await ports.lasso()).getBatch(message.batchId);
    const reportType = batch.type ?? message.reportType;
    if (reportType === undefined) {
      throw new UnidentifiableReportError(`batch ${message.batchId} has no report type, nor has the report`);
    }
    return { facts: { reportType, isListener: batch.isListener, submittedByUs: false }, keep: false };
  } catch (error) {
    if (error instanceof UnidentifiableReportError) throw error;
    if (isNotFound(error)) {
      throw new UnidentifiableReportError(`batch ${message.batchId} is unknown here and to Lasso`);
    }
    if (isRetryableLasso(error)) throw retryLaterForLasso(error, "getBatch");
    throw error;
  }
}

/** The report's pdf link as Lasso's item list gives it now, if it lists the report. */
export async function lookUpPdfUrl(
  message: ReportReadyMessage,
  lasso: () => Promise<LassoReader>,
): Promise<string | undefined> {
  try {
    const reader = await lasso();
    for await (const item of reader.iterateItems(message.batchId, { status: message.itemStatus })) {
      const same = message.reportId !== undefined ? item.id === message.reportId : item.cvr === message.cvr;
      if (same && item.pdfUrl !== undefined) return item.pdfUrl;
    }
    return undefined;
  } catch (error) {
    if (isRetryableLasso(error)) throw retryLaterForLasso(error, "listItems");
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** A PDF host's answer that a link is not (or no longer, or not yet) good: ask Lasso again. */
const GONE_STATUSES: ReadonlySet<number> = new Set([401, 403, 404, 410]);

const gone = (error: unknown): error is PdfFetchError =>
  error instanceof PdfFetchError && error.status !== undefined && GONE_STATUSES.has(error.status);

/**
 * Fetches the report's PDF. A link the host refuses as gone or forbidden (an expired
 * capability, a file not uploaded yet) is not a verdict on the report: Lasso's item list is
 * asked for the report's current link, and a new one is fetched once. The same link again,
 * or none, is retried later (the queue's receives bound it; then the DLQ and its alarm).
 */
export async function fetchWithFreshLink(
  pdfUrl: string,
  message: ReportReadyMessage,
  ports: {
    fetchPdf: (url: string, deadline: Date) => Promise<FetchedPdf>;
    lasso: () => Promise<LassoReader>;
    logger: Log;
  },
  deadline: Date,
): Promise<{ pdf: FetchedPdf; pdfUrl: string }> {
  try {
    return { pdf: await ports.fetchPdf(pdfUrl, deadline), pdfUrl };
  } catch (error) {
    if (!gone(error)) throw error;
    const fresh = await lookUpPdfUrl(message, ports.lasso);
    if (fresh === undefined || fresh === pdfUrl) {
      throw new RetryLaterError(
        "pdf-gone",
        `${error.message}; Lasso lists no other link for the report yet`,
        {
          cause: error,
        },
      );
    }
    ports.logger.info("the pdf link was refused; fetching the fresh link from Lasso's item list", {
      status: error.status,
    });
    try {
      return { pdf: await ports.fetchPdf(fresh, deadline), pdfUrl: fresh };
    } catch (freshError) {
      if (!gone(freshError)) throw freshError;
      throw new RetryLaterError("pdf-gone", `the fresh link too: ${freshError.message}`, {
        cause: freshError,
      });
    }
  }
}
