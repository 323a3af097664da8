/**
 * Demo customers for local mode: deterministic, realistic rows in the customer table's
 * attribute names (docs/customers.md), with valid CVR numbers.
 */
import type { ReportType } from "#shared/lasso/enums.ts";

const WEIGHTS = [2, 7, 6, 5, 4, 3, 2] as const;

/** A valid CVR for index n (first digit not 0, modulus-11 check); distinct indexes give distinct CVRs. */
export function demoCvr(n: number): string {
  for (let candidate = 1_000_000 + n * 7919; ; candidate += 1) {
    const digits = String((candidate % 9_000_000) + 1_000_000)
      .split("")
      .map(Number);
    const sum = digits.reduce((total, digit, index) => total + digit * (WEIGHTS[index] ?? 0), 0);
    const check = (11 - (sum % 11)) % 11;
    if (check < 10) return `${digits.join("")}${check}`;
  }
}

const FIRST = [
  "Nørre",
  "Søndergaard",
  "Østerbro",
  "Ålholm",
  "Vester",
  "Lyngby",
  "Hede",
  "Fjord",
  "Skov",
  "Bakke",
];
const SECOND = [
  "Revision",
  "Byg",
  "Handel",
  "Tømrer",
  "Data",
  "Invest",
  "Transport",
  "Design",
  "Energi",
  "Fisk",
];
const SUFFIX = ["ApS", "A/S", "I/S", "IVS"];

export interface DemoCustomerItem {
  customerId: number;
  cvr: string;
  name: string;
  emails: Set<string>;
  reportTypes: Set<ReportType>;
  group: string;
  enabled: boolean;
  language: "da" | "en";
  /** Finans reports to the bookkeeper instead of `emails` (docs/customers.md). */
  emails_Finans?: Set<string>;
  /** The responsible accountant: copied on every report, told when one fails. */
  cc?: Set<string>;
}

/**
 * `count` customers of `group`, each wanting every type in `reportTypes`; every fifth
 * reads English, every third has two recipients, every fourth has its own Finans
 * recipient (`emails_Finans`), and every other one names its responsible accountant (`cc`).
 */
export function demoCustomers(
  count: number,
  group: string,
  reportTypes: readonly ReportType[],
): DemoCustomerItem[] {
  return Array.from({ length: count }, (_, index) => {
    const id = 1001 + index;
    const name = `${FIRST[index % FIRST.length]} ${SECOND[Math.floor(index / FIRST.length) % SECOND.length]} ${SUFFIX[index % SUFFIX.length]}`;
    const emails = new Set([`bogholderi+${id}@kunde.example.dk`]);
    if (index % 3 === 0) emails.add(`direktion+${id}@kunde.example.dk`);
    return {
      customerId: id,
      cvr: demoCvr(index),
      name,
      emails,
      reportTypes: new Set(reportTypes),
      group,
      enabled: true,
      language: index % 5 === 4 ? "en" : "da",
      ...(index % 4 === 1 ? { emails_Finans: new Set([`bogholder+${id}@kunde.example.dk`]) } : {}),
      ...(index % 2 === 0 ? { cc: new Set([`revisor+${id}@lasso-reports.example.dk`]) } : {}),
    };
  });
}
