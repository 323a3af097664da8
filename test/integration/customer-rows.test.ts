/**
 * Issue 12 against the local emulators, through the CLI as a subprocess: a hand-written
 * item whose group has a trailing space shows up, with its reason, in `customers validate`,
 * in `plan` and in the run record's skipped rows; `customers import` refuses a cvr change
 * (writing nothing) unless --allow-cvr-change; `customers delete` and `import --prune`
 * remove exactly what they list, read back with the AWS SDK.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DeleteReport } from "#cli/customer-delete.ts";
import type { ImportReport } from "#cli/customer-import.ts";
import type { ValidationReport } from "#cli/customer-views.ts";
import type { SchedulePlan } from "#lambdas/submit-batches/plan.ts";
import { scheduleSchema } from "#lib/config/schema.ts";
import { type LocalStack, startLocalStack } from "#local/aws/local-stack.ts";
import { putCustomerItems } from "#shared/customer-store.ts";
import { runKey } from "#shared/state/keys.ts";
import { getRun } from "#shared/state/runs.ts";
import { type CliHarness, cliHarness } from "#test/support/cli-harness.ts";
import { customerItem, testCvr } from "#test/support/pipeline.ts";

let stack: LocalStack;
let harness: CliHarness;
let doc: DynamoDBDocumentClient;
let table: string;

const SCHEDULE = "default-revision";
const TRAILING_REASON =
  'group "default " has surrounding spaces (a run of group "default" compares it exactly)';

async function storedIds(): Promise<number[]> {
  const ids: number[] = [];
  for await (const page of paginateScan({ client: doc }, { TableName: table, ConsistentRead: true })) {
    for (const item of page.Items ?? []) ids.push(Number(item.customerId));
  }
  return ids.sort((a, b) => a - b);
}

async function storedItem(customerId: number): Promise<Record<string, unknown> | undefined> {
  for await (const page of paginateScan({ client: doc }, { TableName: table, ConsistentRead: true })) {
    const found = (page.Items ?? []).find((item) => item.customerId === customerId);
    if (found) return found;
  }
  return undefined;
}

async function clearTable(): Promise<void> {
  const ids = await storedIds();
  if (ids.length === 0) return;
  const run = await harness.cli(["customers", "delete", ...ids.map(String), "--yes", "--quiet"]);
  expect(run.code, run.stderr).toBe(0);
}

async function file(name: string, lines: readonly string[]): Promise<string> {
  const path = join(harness.dir, name);
  await writeFile(path, `${lines.join("\r\n")}\r\n`);
  return path;
}

const HEADER = "customerId;cvr;name;emails;reportTypes;group";
const csvRow = (id: number, n: number): string =>
  `${id};${testCvr(n)};Kunde ${n} ApS;kunde${n}@example.dk;Revision;default`;

beforeAll(async () => {
  stack = await startLocalStack({ sim: { reportDelayMs: 5 } });
  doc = DynamoDBDocumentClient.from(stack.dynamo);
  table = stack.resources.names.customersTable;
  const schedules = [
    scheduleSchema.parse({
      name: SCHEDULE,
      cron: "cron(0 6 1 * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "Revision",
      group: "default",
    }),
  ];
  harness = await cliHarness(stack, { webhookUrl: "http://127.0.0.1:9/webhook", schedules });
});

afterAll(async () => {
  await harness?.cleanup();
  await stack?.stop();
});

describe('a hand-written item with group "default " (trailing space)', () => {
  beforeAll(async () => {
    await putCustomerItems(doc, table, [customerItem(1), customerItem(2)]);
    // As typed into the console or the AWS CLI: DynamoDB stores the space, the byGroup
    // index then holds it under "default " and a query for "default" never returns it.
    await stack.dynamo.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          customerId: { N: "4711" },
          cvr: { S: "34580820" },
          name: { S: "Nyt Firma ApS" },
          emails: { SS: ["bogholderi@nytfirma.dk"] },
          reportTypes: { SS: ["Revision"] },
          group: { S: "default " },
        },
      }),
    );
  });

  it("customers validate lists it with its reason and the schedule that skips it (exit 1)", async () => {
    const { code, data } = await harness.json<ValidationReport>(["customers", "validate"]);
    expect(code).toBe(1);
    expect(data.skipped).toEqual([
      { customerId: 4711, cvr: "34580820", reason: TRAILING_REASON, schedules: [SCHEDULE] },
    ]);
    expect(data.valid).toBe(2);
    const text = await harness.cli(["customers", "validate"]);
    expect(text.stdout).toContain('group "default " has surrounding spaces');
  });

  it("plan lists it as skipped, with the same reason, and submits the two good rows", async () => {
    const { code, data } = await harness.json<SchedulePlan>(["plan", SCHEDULE]);
    expect(code).toBe(0);
    expect(data.skipped).toEqual([{ customerId: 4711, cvr: "34580820", reason: TRAILING_REASON }]);
    expect(data.chunks.flatMap((chunk) => chunk.manifest.map((entry) => entry.customerId))).toEqual([
      1001, 1002,
    ]);
    expect(data.counts).toMatchObject({ customersRead: 3, selected: 2, skipped: 1 });
  });

  it("the run records it in its skipped rows, with the reason, and submits only the good rows", async () => {
    const scheduledTime = "2025-05-01T04:00:00.000Z";
    const run = await harness.cli(["run", SCHEDULE, "--scheduled-time", scheduledTime, "--quiet"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const record = await getRun(
      {
        doc: DynamoDBDocumentClient.from(stack.dynamo),
        tableName: stack.resources.names.stateTable,
        retentionDays: 400,
      },
      runKey(SCHEDULE, scheduledTime),
    );
    expect(record?.skippedRows).toEqual([{ customerId: 4711, cvr: "34580820", reason: TRAILING_REASON }]);
    expect(record?.counts).toMatchObject({ selected: 2, skipped: 1 });
    const submitted = stack.sim
      .batches()
      .flatMap((batch) => batch.items.map((item) => item.internalCustomerId));
    expect(submitted.sort()).toEqual([1001, 1002]);
  });

  it("customers list --group default shows it too, as invalid", async () => {
    const run = await harness.cli(["customers", "list", "--group", "default"]);
    expect(run.stdout).toMatch(/4711.*INVALID: group "default " has surrounding spaces/);
  });
});

describe("customers import and a cvr change", () => {
  beforeEach(clearTable);

  it("refuses it without --allow-cvr-change: exit 1, nothing written, the dry run says why", async () => {
    const first = await harness.json<ImportReport>([
      "customers",
      "import",
      await file("first.csv", [HEADER, csvRow(501, 11), csvRow(502, 12)]),
    ]);
    expect(first.code).toBe(0);
    const before = await storedItem(501);
    expect(before?.cvr).toBe(testCvr(11));

    // 501 now names another company; 503 is new: neither may be written.
    const changed = await file("changed.csv", [HEADER, csvRow(501, 13), csvRow(502, 12), csvRow(503, 14)]);
    const dry = await harness.cli(["customers", "import", changed, "--dry-run"]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain(`customer 501 (line 2) from ${testCvr(11)} to ${testCvr(13)}`);
    expect(dry.stdout).toContain("refused without --allow-cvr-change");
    expect(dry.stdout).toContain("A different cvr is a different company");

    const real = await harness.json<ImportReport>(["customers", "import", changed]);
    expect(real.code).toBe(1);
    expect(real.data.written).toBe(false);
    expect(real.data.cvrChanges).toEqual([{ line: 2, customerId: 501, from: testCvr(11), to: testCvr(13) }]);
    expect(await storedItem(501)).toEqual(before);
    expect(await storedIds()).toEqual([501, 502]);

    const allowed = await harness.json<ImportReport>(["customers", "import", changed, "--allow-cvr-change"]);
    expect(allowed.code).toBe(0);
    expect((await storedItem(501))?.cvr).toBe(testCvr(13));
    expect(await storedIds()).toEqual([501, 502, 503]);
  });

  it("repairing a stored cvr that names no company is no cvr change", async () => {
    await stack.dynamo.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          customerId: { N: "601" },
          cvr: { S: "1234" },
          emails: { SS: ["a@example.dk"] },
          reportTypes: { SS: ["Revision"] },
          group: { S: "default" },
        },
      }),
    );
    const run = await harness.json<ImportReport>([
      "customers",
      "import",
      await file("repair.csv", [HEADER, csvRow(601, 15)]),
    ]);
    expect(run.code).toBe(0);
    expect(run.data.cvrChanges).toEqual([]);
    expect((await storedItem(601))?.cvr).toBe(testCvr(15));
  });
});

describe("customers delete", () => {
  beforeEach(async () => {
    await clearTable();
    await putCustomerItems(doc, table, [customerItem(21), customerItem(22), customerItem(23)]);
  });

  it("asks first: no answer or 'n' deletes nothing, 'y' deletes the named customers", async () => {
    const silent = await harness.cli(["customers", "delete", "1021"]);
    expect(silent.code).toBe(1);
    expect(silent.stderr).toContain("Delete these 1 customer(s)?");
    expect(silent.stderr).toContain(`1021  ${testCvr(21)}  Kunde 21 ApS`);
    expect(silent.stdout).toContain("Nothing deleted");
    const no = await harness.cli(["customers", "delete", "1021"], "n\n");
    expect(no.code).toBe(1);
    expect(await storedIds()).toEqual([1021, 1022, 1023]);

    const yes = await harness.cli(["customers", "delete", "1021", "1022"], "y\n");
    expect(yes.code).toBe(0);
    expect(yes.stdout).toContain("2 customer(s) deleted.");
    expect(await storedIds()).toEqual([1023]);
  });

  it("--yes deletes without asking; an id with no customer is named and exits 1", async () => {
    const { code, data } = await harness.json<DeleteReport>(["customers", "delete", "1023", "9999", "--yes"]);
    expect(code).toBe(1);
    expect(data.deleted.map((row) => row.customerId)).toEqual([1023]);
    expect(data.notFound).toEqual([9999]);
    expect(await storedIds()).toEqual([1021, 1022]);
  });

  it("a customerId that is not a whole number is a usage error (exit 2), nothing deleted", async () => {
    expect((await harness.cli(["customers", "delete", "A12", "--yes"])).code).toBe(2);
    expect(await storedIds()).toEqual([1021, 1022, 1023]);
  });
});

describe("customers import --prune", () => {
  beforeEach(async () => {
    await clearTable();
    await putCustomerItems(doc, table, [
      customerItem(31),
      customerItem(32),
      customerItem(33),
      customerItem(34),
    ]);
  });

  it("the dry run lists the customers the file does not name; --yes deletes exactly those", async () => {
    // 1031 stays, 1033 is in the file but invalid (kept: the file still names it), 701 is new.
    const path = await file("prune.csv", [
      HEADER,
      `1031;${testCvr(31)};Kunde 31 ApS;kunde31@example.dk;Revision;default`,
      `1033;${testCvr(33)};Kunde 33 ApS;;Revision;default`,
      csvRow(701, 16),
    ]);
    const dry = await harness.json<ImportReport>([
      "customers",
      "import",
      path,
      "--prune",
      "--skip-invalid",
      "--dry-run",
    ]);
    expect(dry.code).toBe(0);
    expect(dry.data.pruned.map((row) => row.customerId)).toEqual([1032, 1034]);
    expect(dry.data.written).toBe(false);
    const dryText = await harness.cli([
      "customers",
      "import",
      path,
      "--prune",
      "--skip-invalid",
      "--dry-run",
    ]);
    expect(dryText.stdout).toMatch(/To be deleted \(--prune: stored, not in the file\)/);
    expect(dryText.stdout).toContain("Kunde 32 ApS");
    expect(await storedIds()).toEqual([1031, 1032, 1033, 1034]);

    // Without --yes and without an answer: refused, nothing written or deleted.
    const unconfirmed = await harness.cli(["customers", "import", path, "--prune", "--skip-invalid"]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain("Delete these 2 customer(s)");
    expect(await storedIds()).toEqual([1031, 1032, 1033, 1034]);

    const real = await harness.json<ImportReport>([
      "customers",
      "import",
      path,
      "--prune",
      "--skip-invalid",
      "--yes",
    ]);
    expect(real.code).toBe(0);
    expect(real.data).toMatchObject({ written: true, created: [701] });
    expect(await storedIds()).toEqual([701, 1031, 1033]);
  });

  it("refuses to prune while a row has no usable customerId (it might mean a stored customer)", async () => {
    const path = await file("prune-bad.csv", [
      HEADER,
      csvRow(1031, 31),
      `A12;${testCvr(32)};X;x@example.dk;Revision;default`,
    ]);
    const run = await harness.json<ImportReport>([
      "customers",
      "import",
      path,
      "--prune",
      "--skip-invalid",
      "--yes",
    ]);
    expect(run.code).toBe(1);
    expect(run.data.refused).toMatch(/--prune cannot tell which stored customer line\(s\) 3 mean/);
    expect(await storedIds()).toEqual([1031, 1032, 1033, 1034]);
  });
});
