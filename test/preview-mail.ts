/**
 * `npm run preview:mail`: renders a sample report mail's HTML part (the demo firm, a
 * Danish Revision report, the logo inline) in headless Chromium, checks that the page
 * Chromium rendered names the firm and the report's company, and writes its screenshot to
 * docs/img/mail-preview.png (the README links it). Not part of `npm test`: a fresh machine
 * has no Chromium (Debian: `apt-get install -y chromium`; CHROMIUM=path for another one).
 * Exit 0 when the checks pass.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DEMO_FIRM, demoMailProfileJson } from "#local/aws/demo-firm.ts";
import { LOGO_CID, parseMailProfile } from "#shared/mail/profile.ts";
import { renderReportMail } from "#shared/mail/templates.ts";

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "docs", "img", "mail-preview.png");
const COMPANY = "Nørregaard Byg K/S";

const logoFile = DEMO_FIRM.firm.logo?.file ?? "";
const logo = {
  bytes: readFileSync(logoFile),
  contentType: "image/png" as const,
  alt: "Demo Revision",
  cid: LOGO_CID,
};
const mail = renderReportMail(
  {
    language: "da",
    reportType: "Revision",
    itemStatus: "Completed",
    companyName: COMPANY,
    cvr: "34580820",
    customerId: 1001,
    customerName: COMPANY,
    fileName: "1001_34580820-Nørregaard Byg K-S-Revision-2026-12-01.pdf",
  },
  parseMailProfile(demoMailProfileJson()),
  { logo },
);
// A browser cannot follow cid: links; a mail client finds the logo in the message instead.
const html = mail.html.replaceAll(
  `cid:${LOGO_CID}`,
  `data:image/png;base64,${logo.bytes.toString("base64")}`,
);
const dir = mkdtempSync(path.join(tmpdir(), "lasso-preview-"));
const page = path.join(dir, "mail.html");
writeFileSync(page, html);

const chromium = process.env.CHROMIUM ?? "chromium";
const flags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  `--user-data-dir=${mkdtempSync(path.join(tmpdir(), "lasso-chromium-"))}`,
  "--hide-scrollbars",
  "--window-size=720,640",
];
const url = `file://${page}`;
const problems: string[] = [];
try {
  const dom = (await run(chromium, [...flags, "--dump-dom", url], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  for (const [what, text] of [
    ["the firm's name", DEMO_FIRM.firm.name],
    ["the company", COMPANY.replace("&", "&amp;")],
    ["the signature", DEMO_FIRM.firm.da.signature[1] ?? ""],
    ["the footer", DEMO_FIRM.firm.da.footer],
  ] as const) {
    if (!dom.includes(text)) problems.push(`the page Chromium rendered lacks ${what} (${text})`);
  }
  await run(chromium, [...flags, `--screenshot=${OUT}`, url]);
  if (statSync(OUT).size < 10_000) problems.push(`the screenshot ${OUT} is nearly empty`);
} catch (error) {
  console.error(`could not run ${chromium}: ${(error as Error).message}`);
  console.error("install it (Debian: apt-get install -y chromium) or set CHROMIUM to its path");
  process.exit(2);
}
for (const problem of problems) console.error(`PROBLEM: ${problem}`);
if (problems.length === 0)
  console.log(`rendered in Chromium: firm and company shown; screenshot ${path.relative(ROOT, OUT)}`);
process.exit(problems.length === 0 ? 0 : 1);
