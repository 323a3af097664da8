/**
 * `npm start -- --customers FILE` with the bad files of issue 12, each run as the command
 * itself (tsx local/start.ts in a subprocess, as `npm start` runs it): a customerId "A12",
 * a missing customerId, a cvr given as a number, a group given as a number, a duplicate id
 * within 25 rows. Each run exits 0, mails every good row's report to exactly its addresses,
 * lists every bad row with its line and reason, and mails no address of a bad row.
 * Asserted from the .eml files of `--out` (what really went out).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { testCvr } from "#test/support/pipeline.ts";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TSX = join(REPO, "node_modules", ".bin", "tsx");

interface Row {
  customerId?: unknown;
  cvr?: unknown;
  name: string;
  emails: string[];
  reportTypes: string[];
  group?: unknown;
}

interface Case {
  name: string;
  format: "csv" | "json";
  rows: Row[];
  /** Line of each bad row (CSV: header is line 1; JSON: the element's position) and its reason. */
  bad: { line: number; reason: RegExp }[];
}

/** 25 good rows, ids 3000…3024, one address each (every third row two). */
function goodRows(): Row[] {
  return Array.from({ length: 25 }, (_, n) => ({
    customerId: 3000 + n,
    cvr: testCvr(100 + n),
    name: `Kunde ${n} ApS`,
    emails: n % 3 === 0 ? [`kunde${n}@example.dk`, `chef${n}@example.dk`] : [`kunde${n}@example.dk`],
    reportTypes: ["Revision"],
    group: "default",
  }));
}

function withRow(index: number, row: Partial<Row>, dropKeys: (keyof Row)[] = []): Row[] {
  const rows = goodRows();
  const base = { ...(rows[index] as Row), ...row };
  for (const key of dropKeys) delete base[key];
  rows[index] = base;
  return rows;
}

const CASES: Case[] = [
  {
    name: "customerId A12",
    format: "csv",
    rows: withRow(4, { customerId: "A12", emails: ["bad-a12@evil.example"] }),
    bad: [{ line: 6, reason: /^customerId "A12" is not a whole number$/ }],
  },
  {
    name: "customerId missing",
    format: "csv",
    rows: withRow(7, { emails: ["bad-missing@evil.example"] }, ["customerId"]),
    bad: [{ line: 9, reason: /^customerId is missing$/ }],
  },
  {
    name: "cvr given as a number",
    format: "json",
    rows: (() => {
      const rows = goodRows();
      // A number that is a CVR is meant as one: read as text, written as S, mailed.
      rows[2] = { ...(rows[2] as Row), cvr: Number(testCvr(102)) };
      rows[3] = { ...(rows[3] as Row), cvr: 34580821, emails: ["bad-cvr@evil.example"] };
      return rows;
    })(),
    bad: [{ line: 4, reason: /^cvr 34580821 fails the modulus-11 check digit/ }],
  },
  {
    name: "group given as a number",
    format: "json",
    rows: (() => {
      const rows = goodRows();
      // A number is meant as the group's name: group "7" gets its own schedule.
      rows[5] = { ...(rows[5] as Row), group: 7 };
      rows[6] = { ...(rows[6] as Row), group: { name: "default" }, emails: ["bad-group@evil.example"] };
      return rows;
    })(),
    bad: [{ line: 7, reason: /^group must be a non-empty text$/ }],
  },
  {
    name: "duplicate customerId",
    format: "csv",
    rows: (() => {
      const rows = goodRows();
      // Further down, a second row of customer 3000 with another address (the misroute).
      rows[20] = { ...(rows[20] as Row), customerId: 3000, emails: ["dup@evil.example"] };
      return rows;
    })(),
    bad: [{ line: 22, reason: /^duplicate customerId 3000 \(also on line 2;/ }],
  },
];

function toCsv(rows: readonly Row[]): string {
  const lines = ["customerId;cvr;name;emails;reportTypes;group"];
  for (const row of rows) {
    lines.push(
      [
        row.customerId ?? "",
        row.cvr ?? "",
        row.name,
        row.emails.join(", "),
        row.reportTypes.join(", "),
        row.group ?? "",
      ]
        .map(String)
        .join(";"),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

interface StartRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Recipients of each sent mail. */
  mails: string[][];
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("AWS_") && !name.startsWith("VITEST") && value !== undefined) env[name] = value;
  }
  return env;
}

async function npmStart(customersFile: string, outDir: string): Promise<StartRun> {
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolvePromise, reject) => {
      const child = spawn(
        TSX,
        ["local/start.ts", "--customers", customersFile, "--out", outDir, "--quiet", "--timeout", "90"],
        { cwd: REPO, env: childEnv() },
      );
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        err += chunk;
      });
      child.on("error", reject);
      child.on("close", (exitCode) => resolvePromise({ code: exitCode, stdout: out, stderr: err }));
    },
  );
  const mails: string[][] = [];
  for (const name of (await readdir(outDir).catch(() => [])).filter((file) => file.endsWith(".eml"))) {
    const parsed = await simpleParser(await readFile(join(outDir, name)));
    const to = Array.isArray(parsed.to) ? parsed.to : parsed.to === undefined ? [] : [parsed.to];
    mails.push(to.flatMap((address) => address.value.map((entry) => entry.address ?? "")).sort());
  }
  return { code, stdout, stderr, mails };
}

let dir: string;
const runs = new Map<string, StartRun>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lasso-start-files-"));
  for (const [index, testCase] of CASES.entries()) {
    const path = join(dir, `case-${index}.${testCase.format}`);
    await writeFile(
      path,
      testCase.format === "csv" ? toCsv(testCase.rows) : JSON.stringify(testCase.rows, null, 2),
    );
    runs.set(testCase.name, await npmStart(path, join(dir, `out-${index}`)));
  }
}, 400_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each(CASES)("npm start -- --customers FILE: $name", (testCase) => {
  const badLines = new Set(testCase.bad.map((bad) => bad.line));
  const lineOf = (index: number): number => (testCase.format === "csv" ? index + 2 : index + 1);
  const goodRowsOf = (): Row[] => testCase.rows.filter((_, index) => !badLines.has(lineOf(index)));
  const badRowsOf = (): Row[] => testCase.rows.filter((_, index) => badLines.has(lineOf(index)));
  const run = (): StartRun => {
    const found = runs.get(testCase.name);
    if (found === undefined) throw new Error(`no run for ${testCase.name}`);
    return found;
  };

  test("exits 0 and lists every bad row with its line and reason, and no other row", () => {
    const { code, stdout, stderr } = run();
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const listed = [...stdout.matchAll(/^skipped row, line (\d+): (.*)$/gm)].map((match) => ({
      line: Number(match[1]),
      reason: match[2] ?? "",
    }));
    expect(listed.map((row) => row.line)).toEqual(testCase.bad.map((bad) => bad.line));
    for (const [index, bad] of testCase.bad.entries()) expect(listed[index]?.reason).toMatch(bad.reason);
  });

  test("every good row got exactly one mail, to exactly its addresses", () => {
    const { mails } = run();
    const good = goodRowsOf();
    expect(mails).toHaveLength(good.length);
    const expected = good.map((row) => [...row.emails].sort().join(",")).sort();
    expect(mails.map((to) => to.join(",")).sort()).toEqual(expected);
  });

  test("ends by saying where the mails are (the .eml folder, not a link that died with the run), then the summary", () => {
    const { stdout, mails } = run();
    const lines = stdout.trimEnd().split("\n");
    const outDir = resolve(dir, `out-${CASES.indexOf(testCase)}`);
    expect(lines.at(-2)).toBe(
      `Mails: ${mails.length} .eml files (PDF attached) in ${outDir}; open them in a mail program.`,
    );
    expect(lines.at(-1)).toMatch(/^SUMMARY \{/);
  });

  test("no address of a bad row got any mail", () => {
    const sentTo = new Set(run().mails.flat());
    const badOnly = badRowsOf()
      .flatMap((row) => row.emails)
      .filter((address) => !goodRowsOf().some((row) => row.emails.includes(address)));
    expect(badOnly.length).toBeGreaterThan(0);
    for (const address of badOnly) expect(sentTo.has(address), address).toBe(false);
  });
});
