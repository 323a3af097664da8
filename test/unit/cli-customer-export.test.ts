/**
 * The exported spreadsheet reads back as the same customers (what makes export → edit in
 * Excel → import safe), whatever the names contain.
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, customersToCsv, itemToCsvRecord } from "#cli/customer-views.ts";
import { demoCustomers } from "#local/pipeline/demo-customers.ts";
import { DEMO_GROUP, DEMO_REPORT_TYPES, LOCAL_SCHEDULES } from "#local/pipeline/local-config.ts";
import {
  checkCustomerRows,
  customerToItem,
  parseCustomerCsv,
  readCustomerFile,
} from "#shared/customer-file.ts";
import type { Customer } from "#shared/customers.ts";

const customers: Customer[] = [
  {
    customerId: 1,
    cvr: "34580820",
    name: 'Østergård "Den Gamle" & Søn; I/S',
    emails: ["ole@oestergaard.dk", "jens@oestergaard.dk"],
    emailsByType: {},
    cc: [],
    bcc: [],
    reportTypes: ["Revision", "Finans"],
    group: "nord",
    enabled: false,
    format: "{cvr}-{name}",
    language: "en",
  },
  {
    customerId: 2,
    cvr: "20000015",
    name: "Ærø, Bådeværft ApS",
    emails: ["post@aeroe.dk"],
    emailsByType: {},
    cc: [],
    bcc: [],
    reportTypes: ["ReelleEjere"],
    group: "syd",
    enabled: true,
    language: "da",
  },
];

describe("customersToCsv", () => {
  for (const delimiter of [";", ","] as const) {
    it(`reads back as the same customers (delimiter ${delimiter})`, () => {
      const csv = customersToCsv(customers.map(customerToItem), delimiter);
      expect(csv.split("\r\n")[0]).toBe(CSV_COLUMNS.join(delimiter));
      const back = checkCustomerRows(parseCustomerCsv(csv));
      expect(back.map((row) => (row.result.ok ? row.result.customer : row.result.reason))).toEqual(customers);
      expect(back.map((row) => row.line)).toEqual([2, 3]);
    });
  }

  it("keeps Excel from running a cell as a formula, and reads the value back unchanged", () => {
    const risky: Customer = {
      ...(customers[1] as Customer),
      name: '=HYPERLINK("http://evil.example","Klik")',
    };
    const csv = customersToCsv([customerToItem(risky)], ";");
    const dataLine = csv.split("\r\n")[1] ?? "";
    expect(dataLine).toContain(`"'=HYPERLINK(""http://evil.example"",""Klik"")"`);
    expect(dataLine.split(";").every((cell) => !/^"?[=+@]/.test(cell))).toBe(true);
    const back = checkCustomerRows(parseCustomerCsv(csv));
    expect(back[0]?.result.ok && back[0].result.customer.name).toBe(risky.name);
  });

  it("exports a hand-edited row under the documented column names", () => {
    expect(
      itemToCsvRecord({
        internalCustomerId: 5,
        Email: "a@x.dk",
        reportType: ["Finans"],
        note: "x",
        cvr: "1",
        EMAILS_FINANS: new Set(["bogholder@x.dk"]),
        cc: new Set(["revisor@firma.dk", "partner@firma.dk"]),
      }),
    ).toEqual({
      customerId: "5",
      cvr: "1",
      name: "",
      emails: "a@x.dk",
      reportTypes: "Finans",
      group: "",
      enabled: "",
      format: "",
      language: "",
      emails_Revision: "",
      emails_RevisionUdvidet: "",
      emails_ReelleEjere: "",
      emails_Finans: "bogholder@x.dk",
      cc: "revisor@firma.dk,partner@firma.dk",
      bcc: "",
    });
  });

  it("per-type recipients, cc and bcc survive an export and an import", async () => {
    const csv = customersToCsv(
      [
        {
          customerId: 7,
          cvr: "34580820",
          name: "Ærø ApS",
          emails: new Set(["a@x.dk"]),
          reportTypes: new Set(["Revision", "Finans"]),
          group: "nord",
          emails_Finans: new Set(["bogholder@x.dk"]),
          cc: new Set(["revisor@firma.dk"]),
          bcc: new Set(["arkiv@firma.dk"]),
        },
      ],
      ";",
    );
    const [row] = checkCustomerRows(parseCustomerCsv(csv));
    expect(row?.result.ok && row.result.customer).toMatchObject({
      emailsByType: { Finans: ["bogholder@x.dk"] },
      cc: ["revisor@firma.dk"],
      bcc: ["arkiv@firma.dk"],
    });
  });
});

describe("docs/sample-customers.csv", () => {
  it("is a valid Danish spreadsheet (UTF-8 with BOM, ;, CRLF, æ/ø/å)", async () => {
    const bytes = await readFile("docs/sample-customers.csv");
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString("utf8")).toContain(";Ærø Bådeværft ApS;");
    const rows = checkCustomerRows(await readCustomerFile("docs/sample-customers.csv"));
    expect(rows.filter((row) => !row.result.ok)).toEqual([]);
    expect(rows).toHaveLength(6);
  });

  it("is in the local schedules' group and shares no id or cvr with the demo customers (the README walkthrough imports it next to them)", async () => {
    const customers = checkCustomerRows(await readCustomerFile("docs/sample-customers.csv")).flatMap((row) =>
      row.result.ok ? [row.result.customer] : [],
    );
    expect(new Set(customers.map((customer) => customer.group))).toEqual(new Set([DEMO_GROUP]));
    expect(LOCAL_SCHEDULES.map((schedule) => schedule.group)).toContain(DEMO_GROUP);
    // `npm start -- --demo N` numbers its customers from 1001: the sample stays clear of the first 3000.
    const demo = demoCustomers(3000, DEMO_GROUP, DEMO_REPORT_TYPES);
    const demoIds = new Set(demo.map((item) => item.customerId));
    const demoCvrs = new Set(demo.map((item) => item.cvr));
    for (const customer of customers) {
      expect(demoIds.has(customer.customerId), `id ${customer.customerId}`).toBe(false);
      expect(demoCvrs.has(customer.cvr), `cvr ${customer.cvr}`).toBe(false);
    }
  });
});
