/**
 * The CLI's readable output: tables that fit the terminal (long cells wrap, ids kept whole),
 * text lines wrapped under their value, times in the operator's zone with the UTC offset.
 */
import { describe, expect, it } from "vitest";
import {
  fields,
  fitColumns,
  fitText,
  localTime,
  outputWidth,
  table,
  withReadable,
  wrapLine,
} from "#cli/output.ts";

const lines = (text: string): string[] => text.split("\n");

describe("localTime", () => {
  it("shows Copenhagen summer and winter time with the offset", () => {
    expect(localTime("2025-06-01T04:00:00.000Z")).toBe("2025-06-01 06:00:00 +02:00");
    expect(localTime("2025-01-15T12:30:05Z")).toBe("2025-01-15 13:30:05 +01:00");
  });

  it("uses the zone of the output settings; UTC is +00:00", async () => {
    const shown = await withReadable({ timeZone: "UTC" }, async () => localTime("2025-06-01T04:00:00Z"));
    expect(shown).toBe("2025-06-01 04:00:00 +00:00");
    expect(localTime("2025-06-01T04:00:00Z", "America/New_York")).toBe("2025-06-01 00:00:00 -04:00");
  });

  it("leaves absent values absent and text that is no time as it is", () => {
    expect(localTime(undefined)).toBeUndefined();
    expect(localTime("not yet")).toBe("not yet");
  });
});

describe("wrapLine and fitText", () => {
  it("breaks at spaces, and inside a word longer than the width", () => {
    expect(wrapLine("aaa bbb ccc", 7)).toEqual(["aaa bbb", "ccc"]);
    expect(wrapLine("abcdefghij", 4)).toEqual(["abcd", "efgh", "ij"]);
    for (const line of wrapLine("x ".repeat(50) + "y".repeat(30), 12))
      expect(line.length).toBeLessThanOrEqual(12);
  });

  it("wraps a long line at its indentation and leaves table lines alone", () => {
    const text = `  ${"word ".repeat(30).trim()}\n│ a very long table line that is already as the table made it │`;
    const fitted = lines(fitText(text, 40));
    for (const line of fitted.slice(0, -1)) {
      expect(line.length).toBeLessThanOrEqual(40);
      expect(line.startsWith("  word")).toBe(true);
    }
    expect(fitted.at(-1)).toBe("│ a very long table line that is already as the table made it │");
  });

  it("fields wrap a long value under itself", async () => {
    const text = await withReadable({ width: 40, timeZone: "UTC" }, async () =>
      fields([
        ["at", "now"],
        ["last error", "word ".repeat(20).trim()],
      ]),
    );
    const fitted = lines(text);
    expect(fitted[0]).toBe(`${"at:".padEnd(12)}now`);
    expect(fitted[1]?.startsWith("last error: word")).toBe(true);
    expect(fitted.length).toBeGreaterThan(2);
    for (const line of fitted.slice(2)) expect(line.startsWith(`${" ".repeat(12)}word`)).toBe(true);
    for (const line of fitted) expect(line.length).toBeLessThanOrEqual(40);
  });

  it("changes nothing without a width", () => {
    const text = "x".repeat(300);
    expect(fitText(text, undefined)).toBe(text);
  });
});

describe("fitColumns", () => {
  it("narrows the widest columns to a common cap and keeps the ones asked for", () => {
    expect(fitColumns([5, 40, 30], 45)).toEqual([5, 20, 20]);
    expect(fitColumns([36, 40, 30], 60, new Set([0]))).toEqual([36, 12, 12]);
    expect(fitColumns([5, 6], 100)).toEqual([5, 6]);
  });
});

describe("table", () => {
  const id = "6496a3a7-4e94-475f-8b4f-ebd1ff84b20f";
  const rows = [
    [id, "demo-revision (Revision)", "Finished", "12 delivered, 1 failed, 0 waiting and a long note"],
    [id.replace("6", "7"), "demo-finans (Finans)", "Running (open)", "0 delivered, 0 failed, 25 waiting"],
  ];

  it("fits COLUMNS=80: every line at most 80, the kept id column whole", async () => {
    const text = await withReadable({ width: 80, timeZone: "UTC" }, async () =>
      table(["lasso batch", "schedule", "at Lasso", "reports"], rows, { keep: [0] }),
    );
    for (const line of lines(text)) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text).toContain(id);
    expect(text).toContain("delivered");
  });

  it("is as wide as its content without a width (--wide)", async () => {
    const text = await withReadable({ timeZone: "UTC" }, async () =>
      table(["lasso batch", "schedule", "at Lasso", "reports"], rows),
    );
    expect(Math.max(...lines(text).map((line) => line.length))).toBeGreaterThan(80);
    expect(text).toContain("12 delivered, 1 failed, 0 waiting and a long note");
  });
});

describe("outputWidth", () => {
  it("is the terminal's width, else COLUMNS, else no limit; --wide is no limit", () => {
    expect(outputWidth({ isTTY: true, columns: 120 }, { COLUMNS: "80" }, false)).toBe(120);
    expect(outputWidth({}, { COLUMNS: "80" }, false)).toBe(80);
    expect(outputWidth({}, {}, false)).toBeUndefined();
    expect(outputWidth({ isTTY: true, columns: 120 }, { COLUMNS: "80" }, true)).toBeUndefined();
  });
});
