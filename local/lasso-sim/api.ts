/**
 * Handlers of the Lasso X Reporting API routes (under /apps/reporting) and of the PDF links.
 * Each returns a Reply or throws an ApiError; routing, auth, rate limit and faults live in
 * server.ts.
 */

import { randomBytes, randomUUID } from "node:crypto";
import { itemStatusName, REPORT_TYPE_NUMBERS, type ReportType, reportTypeName } from "#shared/lasso/enums.ts";
import { badRequest, notFound } from "./errors.ts";
import { sanitizeFileStem } from "./filename.ts";
import { contentDisposition, json, type Reply } from "./http.ts";
import { decodeToken, pageOf } from "./paging.ts";
import { type ReportPdfInput, renderReportPdf } from "./pdf.ts";
import { lookupCompany } from "./registry.ts";
import type { SimState } from "./state.ts";
import type { AuthConfig, WebhookPayload } from "./types.ts";
import { parseAuthConfig, parseHttpUrl, validateCreateBatch } from "./validation.ts";
import type { WebhookDispatcher } from "./webhooks.ts";
import { buildZip } from "./zip.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_TEST_CVR = "34580820";

export interface ReportingApiDeps {
  state: SimState;
  webhooks: WebhookDispatcher;
  itemsPageSize: number;
  now: () => Date;
  fileBaseUrl: () => string;
}

interface TestPdf {
  token: string;
  input: ReportPdfInput;
  fileName: string;
}

export class ReportingApi {
  /** PDFs behind the pdfUrl of webhook-test deliveries, so that link works too. */
  private readonly testPdfs = new Map<string, TestPdf>();
  /** Continuation tokens of earlier epochs answer 400 (expireContinuationTokens). */
  private tokenEpoch = 0;

  constructor(private readonly deps: ReportingApiDeps) {}

  createBatch(body: unknown): Reply {
    const result = validateCreateBatch(body);
    if (!result.ok) throw badRequest(`The batch is invalid: ${result.errors.join("; ")}`, result.errors);
    const batch = this.deps.state.create(result.value);
    return json(200, this.deps.state.batchJson(batch));
  }

  listBatches(): Reply {
    return json(
      200,
      this.deps.state.all().map((b) => this.deps.state.batchJson(b)),
    );
  }

  getBatch(id: string): Reply {
    return json(200, this.deps.state.batchJson(this.batch(id)));
  }

  listItems(id: string, query: URLSearchParams): Reply {
    const batch = this.batch(id);
    const statusParam = query.get("status");
    let status: string | null = null;
    if (statusParam !== null && statusParam.trim() !== "") {
      status = itemStatusName(statusParam) ?? null;
      if (status === null) throw badRequest("status must be Completed (0), Warning (1) or Failed (2)");
    }
    const tokenParam = query.get("cToken") ?? query.get("ctoken");
    let offset = 0;
    if (tokenParam !== null && tokenParam !== "") {
      const cursor = decodeToken(tokenParam);
      if (cursor === undefined || cursor.batchId !== batch.id || cursor.status !== status) {
        throw badRequest("cToken is not a valid continuation token for this batch and filter");
      }
      if (cursor.epoch !== this.tokenEpoch) throw badRequest("cToken has expired");
      offset = cursor.offset;
    }
    const reports = batch.reports.filter((r) => status === null || r.status === status);
    const page = pageOf(
      reports,
      { batchId: batch.id, status, offset, epoch: this.tokenEpoch },
      this.deps.itemsPageSize,
    );
    return json(200, {
      items: page.items.map((r) => this.deps.state.itemJson(r)),
      continuationToken: page.continuationToken,
    });
  }

  /** Every continuation token issued so far answers 400 from now on; returns the new epoch. */
  expireContinuationTokens(): number {
    this.tokenEpoch++;
    return this.tokenEpoch;
  }

  async download(id: string): Promise<Reply> {
    const batch = this.batch(id);
    const entries = [];
    for (const report of batch.reports) {
      const bytes = await this.deps.state.pdf(report.id);
      if (bytes !== undefined) entries.push({ fileName: report.fileName, bytes, mtime: report.timestamp });
    }
    const zip = await buildZip(entries);
    return {
      status: 200,
      headers: {
        "content-type": "application/zip",
        "content-disposition": contentDisposition(
          "attachment",
          `${sanitizeFileStem(batch.input.batchName)}.zip`,
        ),
      },
      body: zip,
    };
  }

  async pdf(itemId: string, file: string): Promise<Reply> {
    const token = file.replace(/\.pdf$/i, "");
    const test = this.testPdfs.get(itemId);
    if (test !== undefined && test.token === token) {
      return this.pdfReply(await renderReportPdf(test.input), test.fileName);
    }
    const found = this.deps.state.findReport(itemId);
    const bytes = found?.report.pdfToken === token ? this.deps.state.pdf(itemId) : undefined;
    if (found === undefined || bytes === undefined) throw notFound("The file was not found");
    return this.pdfReply(await bytes, found.report.fileName);
  }

  /** GET (no auth) or POST (auth config in the body) /apps/reporting/webhooktest. */
  async webhookTest(method: string, query: URLSearchParams, body: unknown): Promise<Reply> {
    const errors: string[] = [];
    const urlText = query.get("url");
    const url = urlText === null || urlText.trim() === "" ? undefined : parseHttpUrl(urlText.trim());
    if (urlText === null || urlText.trim() === "") errors.push("url is required");
    else if (url === undefined) errors.push("url must be an absolute http or https URL");
    const lassoId = query.get("lassoId");
    const lassoMatch = lassoId === null || lassoId === "" ? null : /^cvr-1-(\d{8})$/i.exec(lassoId.trim());
    if (lassoId !== null && lassoId !== "" && lassoMatch === null)
      errors.push("lassoId must look like CVR-1-<cvr>");
    const typeText = query.get("reportType");
    const reportType: ReportType | undefined =
      typeText === null || typeText === "" ? "Revision" : reportTypeName(typeText);
    if (reportType === undefined)
      errors.push("reportType must be Revision, Finans, ReelleEjere or RevisionUdvidet");
    const batchIdText = query.get("batchId");
    if (batchIdText !== null && batchIdText !== "" && !UUID.test(batchIdText))
      errors.push("batchId must be a GUID");
    let auth: AuthConfig | null = null;
    if (method === "POST") {
      if (body === undefined || body === null)
        errors.push("The body must be an auth configuration {Method, Key, Value}");
      else auth = parseAuthConfig(body, "body", errors);
    }
    if (errors.length > 0 || url === undefined || reportType === undefined) {
      throw badRequest(`The webhook test is invalid: ${errors.join("; ")}`, errors);
    }

    const cvr = lassoMatch?.[1] ?? DEFAULT_TEST_CVR;
    const lookup = lookupCompany(cvr);
    const companyName = lookup.found ? lookup.company.name : null;
    const now = this.deps.now();
    const reportId = randomUUID();
    const batchId = batchIdText !== null && batchIdText !== "" ? batchIdText.toLowerCase() : randomUUID();
    const token = randomBytes(24).toString("base64url");
    const fileName = `${cvr}-${sanitizeFileStem(companyName ?? "test")}-${reportType}.pdf`;
    this.testPdfs.set(reportId, {
      token,
      fileName,
      input: {
        companyName,
        cvr,
        reportType,
        runDate: now,
        balanceDate: undefined,
        status: "Completed",
        batchName: "Webhook test",
        reportId,
        message: "Dette er en testlevering fra webhooktest.",
      },
    });
    const payload: WebhookPayload = {
      batchId,
      batchName: "Webhook test",
      lassoId: `CVR-1-${cvr}`,
      cvr: Number(cvr),
      companyName,
      reportType,
      printType: REPORT_TYPE_NUMBERS[reportType],
      status: "Completed",
      pdfUrl: `${this.deps.fileBaseUrl()}/files/${reportId}/${token}.pdf`,
      fileName,
      internalCustomerId: null,
      reportId,
      timestamp: now.toISOString(),
      errorMessage: null,
    };
    const result = await this.deps.webhooks.sendTest({ url: url.toString(), auth }, payload);
    const statusCode = "status" in result ? result.status : null;
    const success = statusCode !== null && statusCode >= 200 && statusCode < 300;
    return json(200, {
      url: url.toString(),
      success,
      statusCode,
      message:
        "status" in result
          ? `The webhook answered ${result.status}`
          : `The webhook could not be reached: ${result.error}`,
    });
  }

  private batch(id: string) {
    if (!UUID.test(id)) throw notFound(`Batch ${id} was not found`);
    return this.deps.state.require(id);
  }

  private pdfReply(bytes: Uint8Array, fileName: string): Reply {
    return {
      status: 200,
      headers: {
        "content-type": "application/pdf",
        "content-disposition": contentDisposition("inline", fileName),
        "cache-control": "private, max-age=3600",
      },
      body: bytes,
    };
  }
}
