/**
 * `lasso-reports customers ...` as a subprocess against the local emulators: Danish
 * spreadsheets (Windows-1252, `;`, CRLF, æ/ø/å; the UTF-8 BOM variant), bad rows refused
 * with their line numbers, re-import as a no-op, updates that keep hand-kept attributes,
 * export → import round trips, validate and list.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateScan, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import iconv from "iconv-lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImportReport } from "#cli/customer-import.ts";
import type { CustomerListRow, ValidationReport } from "#cli/customer-views.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalStack, startLocalStack } from "#local/aws/local-stack.ts";
import { type CliHarness, cliHarness } from "#test/support/cli-harness.ts";
import { testCvr } from "#test/support/pipeline.ts";

let stack: LocalStack;
let harness: CliHarness;
let doc: DynamoDBDocumentClient;

const CVR = [testCvr(0), testCvr(1), "34580820"] as const;

/** The spreadsheet as Excel in a Danish locale saves it. */
const DANISH_CSV = [
  "Kundenr;CVR-nr;Navn;E-mail;Rapporttyper;Gruppe;Aktiv;Sprog",
  `101;${CVR[0]};Ærø Bådeværft ApS;post@aeroe-baad.dk;Revision;nord;ja;da`,
  `102;${CVR[1]};"Østergård & Søn I/S";ole@oestergaard.dk, jens@oestergaard.dk;Revision, Finans;nord;ja;`,
  `103;${CVR[2]};Åbenrå Møbler A/S;info@aabenraa.dk;Finans;syd;nej;en`,
].join("\r\n");

const EXPECTED = [
  {
    customerId: 101,
    cvr: CVR[0],
    name: "Ærø Bådeværft ApS",
    emails: new Set(["post@aeroe-baad.dk"]),
    reportTypes: new Set(["Revision"]),
    group: "nord",
    enabled: true,
    language: "da",
  },
  {
    customerId: 102,
    cvr: CVR[1],
    name: "Østergård & Søn I/S",
    emails: new Set(["ole@oestergaard.dk", "jens@oestergaard.dk"]),
    reportTypes: new Set(["Revision", "Finans"]),
    group: "nord",
    enabled: true,
    language: "da",
  },
  {
    customerId: 103,
    cvr: CVR[2],
    name: "Åbenrå Møbler A/S",
    emails: new Set(["info@aabenraa.dk"]),
    reportTypes: new Set(["Finans"]),
    group: "syd",
    enabled: false,
    language: "en",
  },
];

async function tableItems(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan(
    { client: doc },
    { TableName: stack.resources.names.customersTable },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items.sort((a, b) => Number(a.customerId) - Number(b.customerId));
}

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(harness.dir, name);
  await writeFile(path, content);
  return path;
}

beforeAll(async () => {
  stack = await startLocalStack({ sim: { reportDelayMs: 5 } });
  doc = DynamoDBDocumentClient.from(stack.dynamo);
  const schedules = [
    scheduleSchema.parse({
      name: "nord-revision",
      cron: "cron(0 6 1 * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "Revision",
      group: "nord",
    }),
  ];
  harness = await cliHarness(stack, { webhookUrl: "http://127.0.0.1:9/webhook", schedules });
});

afterAll(async () => {
  await harness?.cleanup();
  await stack?.stop();
});

describe("customers import", () => {
  it("imports a Windows-1252 semicolon CSV with CRLF and æ/ø/å names exactly", async () => {
    const path = await file("kunder-1252.csv", iconv.encode(DANISH_CSV, "win1252"));
    const { code, data } = await harness.json<ImportReport>(["customers", "import", path]);
    expect(code).toBe(0);
    expect(data.invalid).toEqual([]);
    expect(data.created).toEqual([101, 102, 103]);
    expect(data.written).toBe(true);
    expect(await tableItems()).toEqual(EXPECTED);
  });

  it("reads the UTF-8 BOM variant (and a comma, LF one) as the very same rows: nothing to change", async () => {
    const bom = await file(
      "kunder-bom.csv",
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(DANISH_CSV)]),
    );
    const bomRun = await harness.json<ImportReport>(["customers", "import", bom]);
    expect(bomRun.code).toBe(0);
    expect(bomRun.data).toMatchObject({ created: [], updated: [], unchanged: [101, 102, 103] });

    const comma = DANISH_CSV.replaceAll(";", "|")
      .replaceAll(",", ";")
      .replaceAll("|", ",")
      .replaceAll("\r\n", "\n");
    const commaRun = await harness.json<ImportReport>([
      "customers",
      "import",
      await file("kunder-comma.csv", comma),
    ]);
    expect(commaRun.data).toMatchObject({ created: [], updated: [], unchanged: [101, 102, 103] });
    expect(await tableItems()).toEqual(EXPECTED);
  });

  it("re-importing the same file is a no-op (exit 0, every row unchanged)", async () => {
    const path = join(harness.dir, "kunder-1252.csv");
    const run = await harness.cli(["customers", "import", path]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("created 0, updated 0, unchanged 3");
  });

  it("reports every bad row with its line and reason and writes nothing", async () => {
    const before = await tableItems();
    const bad = [
      "customerId;cvr;name;emails;reportTypes;group",
      `201;${testCvr(3)};God Kunde ApS;a@god.dk;Revision;nord`,
      `202;12345678;Forkert CVR ApS;b@x.dk;Revision;nord`,
      `203;${testCvr(4)};Ingen Mail ApS;;Revision;nord`,
      `204;${testCvr(5)};Ukendt Type ApS;c@x.dk;Kvartal;nord`,
      `201;${testCvr(6)};Dublet ApS;d@x.dk;Revision;nord`,
      `20.5;${testCvr(7)};Halv ApS;e@x.dk;Revision;nord`,
    ].join("\r\n");
    const path = await file("bad.csv", bad);

    const { code, data } = await harness.json<ImportReport>(["customers", "import", path]);
    expect(code).toBe(1);
    expect(data.written).toBe(false);
    expect(data.invalid.map((row) => row.line)).toEqual([3, 4, 5, 6, 7]);
    const reasons = Object.fromEntries(data.invalid.map((row) => [row.line, row.reason]));
    expect(reasons[3]).toMatch(/cvr 12345678 fails the modulus-11 check/);
    expect(reasons[4]).toMatch(/emails is missing/);
    expect(reasons[5]).toMatch(/unknown report type\(s\) "Kvartal"/);
    expect(reasons[6]).toMatch(/duplicate customerId 201 \(also on line 2;/);
    expect(reasons[7]).toMatch(/customerId "20\.5" is not a whole number/);
    expect(await tableItems()).toEqual(before);

    // The readable form names each line too.
    const text = await harness.cli(["customers", "import", path]);
    expect(text.code).toBe(1);
    for (const line of [3, 4, 5, 6, 7]) expect(text.stdout).toMatch(new RegExp(`│ ${line} `));
    // Said once, with the numbers in words that agree (issue 19's "nothing written … 1 valid rows").
    expect(text.stdout).toContain(
      "Nothing written: 5 of 6 rows are invalid (fix them, or give --skip-invalid to write the 1 valid row).",
    );
    expect(text.stdout.match(/nothing written/gi)).toHaveLength(1);

    // --skip-invalid writes the one valid row.
    const skipped = await harness.json<ImportReport>(["customers", "import", path, "--skip-invalid"]);
    expect(skipped.code).toBe(0);
    expect(skipped.data.created).toEqual([201]);
    expect((await tableItems()).map((item) => item.customerId)).toEqual([101, 102, 103, 201]);
  });

  it("updates a changed row in place and keeps attributes people keep on it; --dry-run writes nothing", async () => {
    await doc.send(
      new UpdateCommand({
        TableName: stack.resources.names.customersTable,
        Key: { customerId: 101 },
        UpdateExpression: "SET emails = :emails, note = :note",
        ExpressionAttributeValues: {
          ":emails": new Set(["gammel@aeroe-baad.dk"]),
          ":note": "ring før kl. 10",
        },
      }),
    );
    const path = join(harness.dir, "kunder-1252.csv");
    const dry = await harness.json<ImportReport>(["customers", "import", path, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.data).toMatchObject({
      written: false,
      updated: [{ customerId: 101, changed: ["emails"] }],
      unchanged: [102, 103],
    });
    expect((await tableItems())[0]?.emails).toEqual(new Set(["gammel@aeroe-baad.dk"]));

    const real = await harness.json<ImportReport>(["customers", "import", path]);
    expect(real.data).toMatchObject({ written: true, updated: [{ customerId: 101, changed: ["emails"] }] });
    expect((await tableItems())[0]).toEqual({ ...EXPECTED[0], note: "ring før kl. 10" });
  });
});

describe("customers export, list, validate", () => {
  it("exports a spreadsheet and JSON that import back unchanged", async () => {
    const csvPath = join(harness.dir, "export.csv");
    const exported = await harness.cli(["customers", "export", "--out", csvPath]);
    expect(exported.code).toBe(0);
    const csvBack = await harness.json<ImportReport>(["customers", "import", csvPath]);
    expect(csvBack.data).toMatchObject({ created: [], updated: [], unchanged: [101, 102, 103, 201] });

    const json = await harness.cli(["customers", "export", "--format", "json"]);
    expect(json.code).toBe(0);
    const items = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(items.map((item) => item.customerId)).toEqual([101, 102, 103, 201]);
    const jsonBack = await harness.json<ImportReport>([
      "customers",
      "import",
      await file("export.json", json.stdout),
    ]);
    expect(jsonBack.data).toMatchObject({ created: [], updated: [], unchanged: [101, 102, 103, 201] });

    // --json: stdout is JSON only, so the export is the JSON form (not CSV).
    const asJson = await harness.json<Record<string, unknown>[]>(["customers", "export"]);
    expect(asJson.code).toBe(0);
    expect(asJson.data).toEqual(items);
  });

  it("validate names the rows a run would skip (exit 1); list filters by group and type", async () => {
    // A hand edit that went wrong: cvr too short, no e-mail.
    await stack.dynamo.send(
      new PutItemCommand({
        TableName: stack.resources.names.customersTable,
        Item: {
          customerId: { N: "301" },
          cvr: { S: "1234" },
          group: { S: "nord" },
          reportTypes: { SS: ["Revision"] },
        },
      }),
    );
    const validated = await harness.json<ValidationReport>(["customers", "validate"]);
    expect(validated.code).toBe(1);
    expect(validated.data.skipped).toEqual([
      {
        customerId: 301,
        reason: expect.stringMatching(/cvr "1234" must be 8 digits.*emails is missing/),
        schedules: ["nord-revision"],
      },
    ]);
    expect(validated.data.disabled).toBe(1);
    // 102 wants Finans in group nord: no schedule runs that.
    expect(validated.data.unscheduled).toEqual([{ customerId: 102, group: "nord", reportTypes: ["Finans"] }]);

    const nord = await harness.json<CustomerListRow[]>(["customers", "list", "--group", "nord"]);
    expect(nord.data.map((row) => [row.customerId, row.ok])).toEqual([
      [101, true],
      [102, true],
      [201, true],
      [301, false],
    ]);
    const finans = await harness.json<CustomerListRow[]>(["customers", "list", "--type", "finans"]);
    expect(finans.data.map((row) => row.customerId)).toEqual([102, 103]);
  });

  it("answers usage errors with exit 2 and a missing file with exit 1", async () => {
    expect((await harness.cli(["customers", "import"])).code).toBe(2);
    expect((await harness.cli(["customers", "list", "--type", "Kvartal"])).code).toBe(2);
    const missing = await harness.cli(["customers", "import", join(harness.dir, "nope.csv")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.csv/);
  });
});
