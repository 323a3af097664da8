/**
 * The deploy config: edit this file, then `npx cdk deploy --all`. It is validated at
 * synth; a mistake fails `cdk synth` with the name of the field. The fields are described
 * in lib/config/schema.ts and docs/deploy.md. This example synthesizes as it is.
 */
import type { DeployConfigInput } from "./schema.ts";

export const deployConfig: DeployConfigInput = {
  stackName: "LassoReports",
  lasso: {
    baseUrl: "https://api.lassox.com",
  },
  mail: {
    sender: "rapporter@example.dk",
    identity: "example.dk",
    defaultLanguage: "da",
  },
  // Exact host names where you can (lasso-reports status --batch ID shows the hosts Lasso
  // links to); never a wildcard over a shared storage or CDN platform (docs/deploy.md).
  pdfHosts: ["*.lassox.com"],
  schedules: [
    {
      name: "monthly-revision",
      // 06:00 Copenhagen time on the first day of every month.
      cron: "cron(0 6 1 * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "Revision",
      group: "default",
      format: "{cvr}-{name}-{type}-{rundate}",
      errorAppend: "#fejl",
    },
    {
      name: "owners-watch",
      // Keeps every customer of the group covered by a listener batch; re-checked nightly.
      cron: "cron(30 2 * * ? *)",
      timeZone: "Europe/Copenhagen",
      reportType: "ReelleEjere",
      group: "default",
      listener: { triggerNow: true },
    },
  ],
  alertEmail: "drift@example.dk",
};
