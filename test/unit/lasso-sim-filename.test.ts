import { describe, expect, it } from "vitest";
import { reportFileName, sanitizeFileStem, substituteFormat } from "#local/lasso-sim/filename.ts";
import { uniqueNames } from "#local/lasso-sim/zip.ts";

const vars = {
  name: "Nørregaard Revision ApS",
  cvr: "34580820",
  type: "Revision",
  balanceDate: new Date(Date.UTC(2023, 11, 31)),
  runDate: new Date(Date.UTC(2024, 4, 15, 10, 30)),
};

describe("lasso-sim file names", () => {
  it("substitutes every variable", () => {
    expect(substituteFormat("{name}|{balanceday}|{cvr}|{type}|{rundate}", vars)).toBe(
      "Nørregaard Revision ApS|2023-12-31|34580820|Revision|2024-05-15",
    );
  });

  it("matches variables in any letter case and leaves unknown placeholders alone", () => {
    expect(substituteFormat("{CVR}-{Name}-{foo}", vars)).toBe("34580820-Nørregaard Revision ApS-{foo}");
  });

  it("builds <format>.pdf without internalCustomerId", () => {
    expect(reportFileName({ ...vars, format: "{cvr}-{name}-{type}", failed: false })).toBe(
      "34580820-Nørregaard Revision ApS-Revision.pdf",
    );
  });

  it("puts internalCustomerId first, followed by an underscore", () => {
    expect(reportFileName({ ...vars, format: "{cvr}", internalCustomerId: 1234, failed: false })).toBe(
      "1234_34580820.pdf",
    );
  });

  it("appends errorAppend to Failed reports only", () => {
    const base = { ...vars, format: "{cvr}-{type}", errorAppend: "#error", internalCustomerId: 7 };
    expect(reportFileName({ ...base, failed: true })).toBe("7_34580820-Revision#error.pdf");
    expect(reportFileName({ ...base, failed: false })).toBe("7_34580820-Revision.pdf");
    expect(reportFileName({ ...base, errorAppend: null, failed: true })).toBe("7_34580820-Revision.pdf");
  });

  it("leaves {balanceday} empty for an unknown company", () => {
    expect(
      reportFileName({
        ...vars,
        name: "",
        balanceDate: undefined,
        format: "{cvr}-{name}-{balanceday}",
        failed: true,
      }),
    ).toBe("34580820--.pdf");
  });

  it("replaces characters that are not allowed in file names, keeps æøå", () => {
    expect(
      reportFileName({ ...vars, name: "Hansen & Søn A/S", format: '{name}: "x"?*<>|\\', failed: false }),
    ).toBe("Hansen & Søn A_S_ _x_______.pdf");
    expect(sanitizeFileStem("  a\tb\n\nc.. ")).toBe("a b c");
    expect(sanitizeFileStem("...")).toBe("report");
    expect(sanitizeFileStem("x".repeat(300))).toHaveLength(180);
  });

  it("makes duplicate zip entry names unique", () => {
    expect(uniqueNames(["a.pdf", "b.pdf", "a.pdf", "A.pdf", "a (2).pdf"])).toEqual([
      "a.pdf",
      "b.pdf",
      "a (2).pdf",
      "A (3).pdf",
      "a (2) (2).pdf",
    ]);
  });
});
