/**
 * Routing by responsibility and the failure notice, on the emulators: per-type recipients,
 * cc and bcc exactly as a customer row says, as SES's store shows them; a Failed report
 * gives one notice to the responsible accountant (or the operators) and none to the client,
 * once per customer and batch however often it fails.
 */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { DEMO_SENDER, demoMailProfileJson } from "#local/aws/demo-firm.ts";
import type { ReportReadyMessage } from "#shared/report-ready.ts";
import { type DeliveryRig, type StoredMail, startDeliveryRig } from "#test/support/delivery.ts";
import { customerItem, testCvr, usePipeline } from "#test/support/pipeline.ts";

const FAILED_WITH_ACCOUNTANT = testCvr(71);
const FAILED_WITHOUT = testCvr(72);
const OPERATORS = "drift@lasso-reports.example.dk";

const pipeline = usePipeline({
  sim: {
    reportDelayMs: 3,
    webhooksEnabled: true,
    faults: { forceItemStatus: { [FAILED_WITH_ACCOUNTANT]: "Failed", [FAILED_WITHOUT]: "Failed" } },
  },
});
let rig: DeliveryRig;

beforeAll(async () => {
  rig = await startDeliveryRig(pipeline.current, {
    // The demo firm's profile, its operators' address included.
    deliverEnv: {
      MAIL_SENDER: DEMO_SENDER,
      MAIL_PROFILE: demoMailProfileJson({ operatorsEmail: OPERATORS }),
    },
  });
  await pipeline.current.aws.verifySender(DEMO_SENDER);
});
afterAll(async () => {
  await rig?.close();
});
beforeEach(async () => {
  await rig.clearMails();
});

async function deliverAll(): Promise<void> {
  const source = await rig.startDelivery();
  try {
    await source.idle(30_000);
  } finally {
    await source.stop();
  }
}

const to = (mails: readonly StoredMail[], address: string) =>
  mails.filter((mail) => [...mail.destination.to, ...mail.destination.cc].includes(address));
const isNotice = (mail: StoredMail) => /^(Rapport fejlede|Report failed):/.test(mail.subject);

describe("recipients per report type, cc and bcc", () => {
  test("each report goes to its type's recipients, the accountant in Cc, the archive in Bcc only", async () => {
    const p = pipeline.current;
    await p.putCustomers([
      customerItem(60, {
        reportTypes: new Set(["Revision", "Finans"]),
        emails: new Set(["direktion60@kunde.dk"]),
        emails_Finans: new Set(["bogholder60@kunde.dk"]),
        cc: new Set(["revisor60@firma.dk"]),
        bcc: new Set(["arkiv60@firma.dk"]),
      }),
      customerItem(61, { reportTypes: new Set(["Revision"]) }),
    ]);
    const customers = [
      { customerId: 1060, cvr: testCvr(60) },
      { customerId: 1061, cvr: testCvr(61) },
    ];
    const { batch } = await rig.submitBatch({ customers, reportType: "Revision" });
    await rig.submitBatch({ customers: [customers[0] as (typeof customers)[number]], reportType: "Finans" });
    await p.sim.settle();
    await deliverAll();

    const mails = await rig.sentMails();
    expect(mails).toHaveLength(3);
    const revision = mails.find((mail) => mail.destination.to.includes("direktion60@kunde.dk"));
    expect(revision?.subject).toMatch(/^Virksomhedsrapport \(Lasso Revision\): /);
    // Both emulators read a raw message's recipients from its headers: Bcc is in none (SES's
    // Destination carries it; the unit test of the SES adapter and the record below show it).
    expect(revision?.destination).toEqual({
      to: ["direktion60@kunde.dk"],
      cc: ["revisor60@firma.dk"],
      bcc: [],
    });
    const finans = mails.find((mail) => mail.destination.to.includes("bogholder60@kunde.dk"));
    expect(finans?.subject).toMatch(/^Regnskabsrapport \(Lasso Finans\): /);
    expect(finans?.destination).toEqual({
      to: ["bogholder60@kunde.dk"],
      cc: ["revisor60@firma.dk"],
      bcc: [],
    });
    expect(JSON.stringify(mails)).not.toContain("arkiv60@firma.dk");
    const plain = mails.find((mail) => mail.destination.to.includes("kunde61@example.dk"));
    expect(plain?.destination).toEqual({ to: ["kunde61@example.dk"], cc: [], bcc: [] });
    // The report record names everyone SES was given.
    expect((await rig.report(batch.id, testCvr(60)))?.recipients).toEqual([
      "direktion60@kunde.dk",
      "revisor60@firma.dk",
      "arkiv60@firma.dk",
    ]);
  });
});

describe("a failed report tells the firm, not the client", () => {
  test("one notice to the accountant (cc/bcc), or to the operators; none to the client; once per batch", async () => {
    const p = pipeline.current;
    await p.putCustomers([
      customerItem(71, { cc: new Set(["revisor71@firma.dk"]), bcc: new Set(["partner71@firma.dk"]) }),
      customerItem(72),
      customerItem(73),
    ]);
    const customers = [71, 72, 73].map((n) => ({ customerId: 1000 + n, cvr: testCvr(n) }));
    const { batch } = await rig.submitBatch({ customers, errorAppend: "#fejl" });
    await p.sim.settle();
    await deliverAll();

    const mails = await rig.sentMails();
    const notices = mails.filter(isNotice);
    expect(notices).toHaveLength(2);
    // Nothing reached the failed reports' clients; the good one got its report.
    expect(to(mails, "kunde71@example.dk")).toHaveLength(0);
    expect(to(mails, "kunde72@example.dk")).toHaveLength(0);
    expect(to(mails, "kunde73@example.dk")).toHaveLength(1);

    const accountant = notices.find((mail) => mail.destination.to.includes("revisor71@firma.dk"));
    expect(accountant?.destination).toEqual({
      to: ["revisor71@firma.dk", "partner71@firma.dk"],
      cc: [],
      bcc: [],
    });
    expect(accountant?.subject).toMatch(
      new RegExp(
        `^Rapport fejlede: .+ \\(CVR ${FAILED_WITH_ACCOUNTANT}\\), Virksomhedsrapport \\(Lasso Revision\\)$`,
      ),
    );
    expect(accountant?.body.text).toContain("Årsag: Lasso could not produce the report");
    expect(accountant?.body.text).toContain(`Lasso-batch: ${batch.id}`);
    expect(accountant?.from).toBe(`"Demo Revision" <${DEMO_SENDER}>`);
    const operators = notices.find((mail) => mail.destination.to.includes(OPERATORS));
    expect(operators?.subject).toContain(`(CVR ${FAILED_WITHOUT})`);

    // The same failed report again (an operator's resend): no second notice for this batch.
    await rig.clearMails();
    const again: ReportReadyMessage = {
      version: 1,
      batchId: batch.id,
      cvr: FAILED_WITH_ACCOUNTANT,
      reportType: "Revision",
      itemStatus: "Failed",
      internalCustomerId: 1071,
      source: "resend",
      seenAt: new Date().toISOString(),
    };
    await p.sqs.send(
      new SendMessageCommand({
        QueueUrl: p.resources.reportReadyQueueUrl,
        MessageBody: JSON.stringify(again),
      }),
    );
    await deliverAll();
    expect(await rig.sentMails()).toHaveLength(0);
    expect(await rig.report(batch.id, FAILED_WITH_ACCOUNTANT)).toMatchObject({ deliveryStatus: "failed" });
    expect(rig.deliver.counter.total("FailureNoticeSkipped")).toBe(1);
    expect(rig.deliver.counter.total("FailureNoticeSent")).toBe(2);
  });
});
