/**
 * `status --batch`: which hosts Lasso's PDF links of a batch point to, read from Lasso's
 * own item list (every page), so an operator can put Lasso's real PDF host into the deploy
 * config's `pdfHosts` as an exact name (docs/deploy.md#lassos-pdf-host). Host names only:
 * a PDF link is a capability (whoever holds it can fetch the report), so neither a link
 * nor its path is kept, printed or returned.
 */
import type { LassoClient } from "#shared/lasso/client.ts";
import { isAllowedHost } from "#shared/pdf/guard.ts";

export interface PdfHostRow {
  /** Host name, with the port when it is not the scheme's default. */
  host: string;
  /** `https` or `http` (the delivery fetches https only, except in local mode). */
  scheme: string;
  /** Finished items of the batch whose link points here. */
  items: number;
  /** Whether the target's `pdfHosts` allows a link to this host (and port). */
  allowed: boolean;
}

export interface PdfHostsView {
  hosts: PdfHostRow[];
  /** Finished items without a link (Failed ones, typically). */
  withoutLink: number;
  /** Items whose link is not a URL at all. */
  unreadable: number;
}

/** Whether the view could be read; the batch view shows the reason when it could not. */
export type PdfHostsResult = { ok: true; view: PdfHostsView } | { ok: false; error: string };

export async function readPdfHosts(
  lasso: Pick<LassoClient, "iterateItems">,
  lassoBatchId: string,
  allowedHosts: readonly string[],
): Promise<PdfHostsView> {
  const rows = new Map<string, PdfHostRow>();
  let withoutLink = 0;
  let unreadable = 0;
  for await (const item of lasso.iterateItems(lassoBatchId)) {
    if (item.pdfUrl === undefined || item.pdfUrl.trim() === "") {
      withoutLink++;
      continue;
    }
    let url: URL;
    try {
      url = new URL(item.pdfUrl);
    } catch {
      unreadable++;
      continue;
    }
    const scheme = url.protocol.replace(/:$/, "");
    const key = `${scheme}://${url.host}`;
    const row = rows.get(key) ?? {
      host: url.host,
      scheme,
      items: 0,
      allowed: isAllowedHost(url, allowedHosts),
    };
    row.items++;
    rows.set(key, row);
  }
  const hosts = [...rows.values()].sort((a, b) => b.items - a.items || a.host.localeCompare(b.host));
  return { hosts, withoutLink, unreadable };
}

/** {@link readPdfHosts}, with a failure (Lasso unreachable, no key) as a reason, not a crash. */
export async function tryReadPdfHosts(
  lasso: () => Promise<Pick<LassoClient, "iterateItems">>,
  lassoBatchId: string,
  allowedHosts: readonly string[],
): Promise<PdfHostsResult> {
  try {
    return { ok: true, view: await readPdfHosts(await lasso(), lassoBatchId, allowedHosts) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
