/**
 * `status --batch`'s PDF hosts: counted from Lasso's item list, judged against pdfHosts,
 * and never carrying a link, its path or its query.
 */
import { describe, expect, test } from "vitest";
import { renderPdfHosts } from "#cli/commands/status.ts";
import { readPdfHosts, tryReadPdfHosts } from "#cli/pdf-hosts.ts";
import type { LassoItem } from "#shared/lasso/schemas.ts";

const item = (pdfUrl: string | undefined, cvr = "34580820"): LassoItem => ({
  cvr,
  status: pdfUrl === undefined ? "Failed" : "Completed",
  ...(pdfUrl === undefined ? {} : { pdfUrl }),
});

const lassoWith = (pages: LassoItem[][]) => ({
  async *iterateItems(_batchId: string) {
    for (const page of pages) yield* page;
  },
});

describe("readPdfHosts", () => {
  test("counts the items per host over every page and says which hosts pdfHosts allows", async () => {
    const lasso = lassoWith([
      [
        item("https://lassoxreports.blob.core.windows.net/reports/a1/t0k3n-1.pdf?sv=2024&sig=abc"),
        item("https://lassoxreports.blob.core.windows.net/reports/a2/t0k3n-2.pdf?sig=def"),
        item(undefined),
      ],
      [item("https://files.lassox.com/f/x/t0k3n-3.pdf"), item("not a url")],
    ]);
    const view = await readPdfHosts(lasso, "b1", ["*.lassox.com"]);
    expect(view).toEqual({
      hosts: [
        { host: "lassoxreports.blob.core.windows.net", scheme: "https", items: 2, allowed: false },
        { host: "files.lassox.com", scheme: "https", items: 1, allowed: true },
      ],
      withoutLink: 1,
      unreadable: 1,
    });
    const shown = `${JSON.stringify(view)}\n${renderPdfHosts({ ok: true, view })}`;
    for (const secret of ["t0k3n", "sig=", "/reports/", "/f/x/"]) expect(shown).not.toContain(secret);
    expect(renderPdfHosts({ ok: true, view })).toContain(
      "Not allowed by pdfHosts: lassoxreports.blob.core.windows.net",
    );
  });

  test("a port other than the scheme's default is part of the host, and of the match", async () => {
    const view = await readPdfHosts(lassoWith([[item("https://files.lassox.com:8443/a.pdf")]]), "b1", [
      "files.lassox.com",
    ]);
    expect(view.hosts).toEqual([
      { host: "files.lassox.com:8443", scheme: "https", items: 1, allowed: false },
    ]);
  });

  test("Lasso unreachable is a reason in the view, not a failed command", async () => {
    const result = await tryReadPdfHosts(
      async () => {
        throw new Error("Lasso listItems failed: connect ECONNREFUSED");
      },
      "b1",
      ["files.lassox.com"],
    );
    expect(result).toEqual({ ok: false, error: "Lasso listItems failed: connect ECONNREFUSED" });
    expect(renderPdfHosts(result)).toContain("could not read Lasso's item list");
  });
});
