import { describe, expect, it } from "vitest";
import {
  canonicaliseKeys,
  foldKey,
  foldKeys,
  hasField,
  isRecord,
  pickField,
} from "#shared/lasso/normalise.ts";
import {
  type CreateBatchRequest,
  formatScheduledTime,
  lassoBatchListSchema,
  lassoBatchSchema,
  lassoIdForCvr,
  lassoItemSchema,
  lassoItemsPageSchema,
  parseErrorBody,
  serialiseCreateBatchRequest,
} from "#shared/lasso/schemas.ts";

describe("normalise: case-insensitive field access", () => {
  it("finds a field whatever its casing, underscores or dashes", () => {
    for (const key of ["pdfurl", "PdfUrl", "pdfURL", "PDFURL", "pdf_url", "Pdf-Url"]) {
      expect(pickField({ [key]: "https://x/y.pdf", other: 1 }, "pdfUrl")).toBe("https://x/y.pdf");
    }
  });

  it("prefers the exact spelling, then the earlier name", () => {
    expect(pickField({ pdfurl: "folded", pdfUrl: "exact" }, "pdfUrl")).toBe("exact");
    expect(pickField({ Name: "plain", BATCHNAME: "batch" }, "batchName", "name")).toBe("batch");
    expect(pickField({ Name: "plain" }, "batchName", "name")).toBe("plain");
  });

  it("returns null as null, and undefined for absent fields or non-objects", () => {
    expect(pickField({ cToken: null }, "cToken")).toBeNull();
    expect(pickField({ a: 1 }, "b")).toBeUndefined();
    expect(pickField([1, 2], "length")).toBeUndefined();
    expect(pickField("text", "length")).toBeUndefined();
    expect(hasField({ CTOKEN: null }, "cToken")).toBe(true);
    expect(hasField({ a: 1 }, "cToken")).toBe(false);
  });

  it("canonicalises keys, treating null as absent and dropping unknown fields", () => {
    const out = canonicaliseKeys(
      { BatchName: "B", IsListener: true, notificationWebHookUrl: null, extra: 5 },
      {
        name: ["batchName", "name"],
        isListener: ["isListener"],
        notificationWebhookUrl: ["notificationWebhookUrl"],
      },
    );
    expect(out).toEqual({ name: "B", isListener: true });
    expect(Object.keys(out)).toEqual(["name", "isListener"]);
  });

  it("falls through a null spelling to another one", () => {
    expect(canonicaliseKeys({ pdfUrl: null, PDFURL: "u" }, { pdfUrl: ["pdfUrl"] })).toEqual({ pdfUrl: "u" });
  });

  it("folds keys deeply, without touching prototypes", () => {
    const folded = foldKeys(
      JSON.parse('{"Outer_Key":{"InnerKey":[{"PdfUrl":"u"}]},"__proto__":{"polluted":true}}'),
    );
    expect(folded).toEqual({ outerkey: { innerkey: [{ pdfurl: "u" }] }, proto: { polluted: true } });
    expect(isRecord(folded) && Object.getPrototypeOf(folded)).toBe(Object.prototype);
    expect(isRecord(folded) && Object.keys(folded)).toEqual(["outerkey", "proto"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(foldKey("notificationWebHookUrl")).toBe(foldKey("notificationWebhookUrl"));
  });

  it("stops folding at maxDepth", () => {
    expect(foldKeys({ A: { B: { C: 1 } } }, 2)).toEqual({ a: { b: { C: 1 } } });
  });
});

const apiBatch = {
  id: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
  name: "My Batch",
  type: 0,
  status: "Executing",
  batchSize: 2,
  completionPercentage: 0.5,
  scheduledTime: "2018-01-01T01:00:00",
  timestamp: "2018-01-01T00:59:00",
  notificationEmail: "mail@mail.com",
  notificationWebHookUrl: "https://myserver.com/reportwebhook",
  archived: false,
  lassoOrgId: 17,
  lassoUserId: 42,
  IsListener: false,
  format: "{cvr}-{name}-{type}",
  errorAppend: "#error",
};

describe("lassoBatchSchema", () => {
  it("maps the provider's read-back shape to canonical camelCase, dropping extra fields", () => {
    expect(lassoBatchSchema.parse(apiBatch)).toEqual({
      id: "d2e61fbf-7562-4ffb-ba33-52396c0ba12d",
      name: "My Batch",
      type: "Revision",
      status: "Executing",
      batchSize: 2,
      completionPercentage: 0.5,
      scheduledTime: "2018-01-01T01:00:00",
      timestamp: "2018-01-01T00:59:00",
      isListener: false,
      notificationEmail: "mail@mail.com",
      notificationWebhookUrl: "https://myserver.com/reportwebhook",
      format: "{cvr}-{name}-{type}",
      errorAppend: "#error",
    });
  });

  it("accepts PascalCase keys, batchName, type names in any case, numbers as strings and nulls", () => {
    const batch = lassoBatchSchema.parse({
      Id: "abc",
      BatchName: "Other",
      Type: "reelleejere",
      Status: "listening",
      BatchSize: "3",
      CompletionPercentage: "1",
      isListener: true,
      NotificationWebhookUrl: "https://h/x",
      scheduledTime: null,
      format: null,
    });
    expect(batch).toMatchObject({
      id: "abc",
      name: "Other",
      type: "ReelleEjere",
      status: "Listening",
      batchSize: 3,
      completionPercentage: 1,
      isListener: true,
      notificationWebhookUrl: "https://h/x",
    });
    expect(batch.scheduledTime).toBeUndefined();
    expect(batch.format).toBeUndefined();
  });

  it("defaults isListener to false and takes report type numbers 0..3", () => {
    const base = { id: "1", name: "n", status: "Finished", batchSize: 0, completionPercentage: 1 };
    expect(lassoBatchSchema.parse(base).isListener).toBe(false);
    expect([0, 1, 2, 3].map((type) => lassoBatchSchema.parse({ ...base, type }).type)).toEqual([
      "Revision",
      "Finans",
      "ReelleEjere",
      "RevisionUdvidet",
    ]);
  });

  it("rejects an unknown status, a missing id and a completion outside 0..1, naming the fields", () => {
    const result = lassoBatchSchema.safeParse({
      ...apiBatch,
      id: undefined,
      status: "Exploded",
      completionPercentage: 50,
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.join(".")).sort();
    expect(paths).toEqual(["completionPercentage", "id", "status"]);
  });

  it("rejects an unknown report type number", () => {
    expect(lassoBatchSchema.safeParse({ ...apiBatch, type: 9 }).success).toBe(false);
  });

  it("parses a list given as array or under batches/items", () => {
    expect(lassoBatchListSchema.parse([apiBatch])).toHaveLength(1);
    expect(lassoBatchListSchema.parse({ Batches: [apiBatch, apiBatch] })).toHaveLength(2);
    expect(lassoBatchListSchema.parse({ items: [] })).toEqual([]);
    expect(lassoBatchListSchema.safeParse({ nothing: [] }).success).toBe(false);
  });
});

describe("lassoItemSchema", () => {
  it("turns a numeric CVR into an 8-digit string and takes pdfurl in any casing", () => {
    for (const key of ["pdfurl", "pdfUrl", "PdfUrl", "pdfURL"]) {
      const item = lassoItemSchema.parse({ cvr: 34580820, status: 0, [key]: "https://r/x.pdf" });
      expect(item.cvr).toBe("34580820");
      expect(item.pdfUrl).toBe("https://r/x.pdf");
      expect(item.status).toBe("Completed");
    }
  });

  it("accepts enum names or numbers for status and printType", () => {
    expect(lassoItemSchema.parse({ cvr: "34580820", status: 2, printType: 3 })).toMatchObject({
      status: "Failed",
      printType: "RevisionUdvidet",
    });
    expect(lassoItemSchema.parse({ cvr: "34580820", Status: "warning", PrintType: "Finans" })).toMatchObject({
      status: "Warning",
      printType: "Finans",
    });
  });

  it("maps the remaining fields, numbers given as strings included", () => {
    expect(
      lassoItemSchema.parse({
        Id: 7,
        BatchId: "b-1",
        CVR: " 34580820 ",
        LassoId: "CVR-1-34580820",
        Name: "Lasso X ApS",
        InternalCustomerId: "1234",
        status: "Completed",
        FileName: "1234-34580820-Lasso.pdf",
        finishedAt: "2024-05-01T10:00:00Z",
        errorMessage: "",
        somethingNew: { nested: true },
      }),
    ).toEqual({
      id: "7",
      batchId: "b-1",
      cvr: "34580820",
      lassoId: "CVR-1-34580820",
      name: "Lasso X ApS",
      internalCustomerId: 1234,
      status: "Completed",
      fileName: "1234-34580820-Lasso.pdf",
      finishedAt: "2024-05-01T10:00:00Z",
    });
  });

  it("takes the CVR from lassoId when the cvr field is missing", () => {
    expect(lassoItemSchema.parse({ lassoId: "cvr-1-34580820", status: 0 }).cvr).toBe("34580820");
  });

  it("rejects a CVR that is not 8 digits, and an unknown status", () => {
    expect(lassoItemSchema.safeParse({ cvr: 3458082, status: 0 }).success).toBe(false);
    expect(lassoItemSchema.safeParse({ cvr: "3458082X", status: 0 }).success).toBe(false);
    const bad = lassoItemSchema.safeParse({ cvr: "34580820", status: 7 });
    expect(bad.error?.issues.map((issue) => issue.path.join("."))).toEqual(["status"]);
  });
});

describe("lassoItemsPageSchema", () => {
  const item = { cvr: 34580820, status: 0 };

  it("reads items with continuationToken or cToken, any casing", () => {
    expect(lassoItemsPageSchema.parse({ items: [item], continuationToken: "t1" }).continuationToken).toBe(
      "t1",
    );
    expect(lassoItemsPageSchema.parse({ Items: [item, item], CToken: "t2" })).toMatchObject({
      continuationToken: "t2",
    });
    expect(lassoItemsPageSchema.parse({ Items: [item, item], CToken: "t2" }).items).toHaveLength(2);
  });

  it("treats a null, empty or absent token as the last page", () => {
    for (const page of [
      { items: [item], continuationToken: null },
      { items: [item], cToken: "" },
      { items: [] },
    ]) {
      expect(lassoItemsPageSchema.parse(page).continuationToken).toBeUndefined();
    }
  });

  it("accepts a bare array as a single, last page", () => {
    const page = lassoItemsPageSchema.parse([item, item, item]);
    expect(page.items.map((i) => i.cvr)).toEqual(["34580820", "34580820", "34580820"]);
    expect(page.continuationToken).toBeUndefined();
  });

  it("names the bad item by index", () => {
    const result = lassoItemsPageSchema.safeParse({ items: [item, { cvr: 1, status: 0 }] });
    expect(result.error?.issues[0]?.path).toEqual(["items", 1, "cvr"]);
  });
});

describe("parseErrorBody", () => {
  it("reads errorCode and message in any casing", () => {
    expect(parseErrorBody({ ErrorCode: 26, Message: "Too many requests" })).toEqual({
      errorCode: 26,
      message: "Too many requests",
    });
    expect(parseErrorBody({ title: "Bad Request" })).toEqual({ message: "Bad Request" });
    expect(parseErrorBody({ unrelated: true })).toBeUndefined();
    expect(parseErrorBody("text")).toBeUndefined();
  });
});

describe("serialiseCreateBatchRequest", () => {
  const seedRequest: CreateBatchRequest = {
    batchName: "My Batch",
    format: "{cvr}-{name}-{type}",
    type: "Revision",
    notificationEmail: "mail@mail.com",
    notificationWebhookUrl: "https://myserver.com/reportwebhook",
    authConfig: null,
    errorAppend: "#error",
    scheduledTime: "2018-01-01 01:00:00",
    items: [
      { cvr: 34580820, format: "1234-{cvr}-{name}", internalCustomerId: 1234 },
      { cvr: "34580821", format: "4321-{cvr}-{name}", internalCustomerId: 4321 },
    ],
    isListener: false,
    triggerNow: false,
  };

  it("produces exactly the provider's example body, in its field order", () => {
    const result = serialiseCreateBatchRequest(seedRequest);
    expect(result.ok).toBe(true);
    const body = result.ok ? result.body : undefined;
    expect(JSON.stringify(body)).toBe(
      JSON.stringify({
        batchName: "My Batch",
        format: "{cvr}-{name}-{type}",
        type: "Revision",
        notificationEmail: "mail@mail.com",
        notificationWebhookUrl: "https://myserver.com/reportwebhook",
        authConfig: null,
        errorAppend: "#error",
        scheduledTime: "2018-01-01 01:00:00",
        items: [
          { cvr: 34580820, format: "1234-{cvr}-{name}", internalCustomerId: 1234 },
          { cvr: 34580821, format: "4321-{cvr}-{name}", internalCustomerId: 4321 },
        ],
        IsListener: false,
        TriggerNow: false,
      }),
    );
  });

  it("omits undefined fields and sends CVRs as integers", () => {
    const result = serialiseCreateBatchRequest({
      batchName: "B",
      format: "{cvr}",
      type: "ReelleEjere",
      items: [{ cvr: "DK 34 58 08 20" }],
      isListener: true,
      authConfig: { Method: "Header", Key: "X-Auth", Value: "s3cret" },
    });
    expect(result.ok && result.body).toEqual({
      batchName: "B",
      format: "{cvr}",
      type: "ReelleEjere",
      authConfig: { Method: "Header", Key: "X-Auth", Value: "s3cret" },
      items: [{ cvr: 34580820 }],
      IsListener: true,
    });
  });

  it("rejects bad input with paths: CVR, scheduled time, empty items, non-integer customer id", () => {
    const bad = serialiseCreateBatchRequest({
      ...seedRequest,
      scheduledTime: "2018-01-01T01:00:00Z",
      items: [{ cvr: "1234" }, { cvr: 34580820, internalCustomerId: 1.5 }],
    });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.issues.map((issue) => issue.path).sort()).toEqual([
      "items[0].cvr",
      "items[1].internalCustomerId",
      "scheduledTime",
    ]);
    const empty = serialiseCreateBatchRequest({ ...seedRequest, items: [] });
    expect(empty.ok ? [] : empty.issues.map((issue) => issue.path)).toEqual(["items"]);
  });
});

describe("helpers", () => {
  it("formats a scheduled time in UTC as YYYY-MM-DD HH:mm:ss", () => {
    expect(formatScheduledTime(new Date("2024-03-31T01:30:05.999+02:00"))).toBe("2024-03-30 23:30:05");
    expect(() => formatScheduledTime(new Date("nope"))).toThrow(RangeError);
  });

  it("builds the provider's company id", () => {
    expect(lassoIdForCvr(34580820)).toBe("CVR-1-34580820");
    expect(() => lassoIdForCvr("123")).toThrow(RangeError);
  });
});
