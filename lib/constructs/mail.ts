/**
 * Sending mail through SES: the identity (created here unless it already exists), a
 * configuration set that publishes deliveries, delivery delays, bounces, complaints and
 * rejects to the default event bus, and the rule that hands them to the record-ses-event
 * function (the proof of delivery per recipient, and the suppressions).
 */
import { CfnOutput, Duration, Stack } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as eventTargets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as ses from "aws-cdk-lib/aws-ses";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { DeployConfig } from "../config/schema.ts";

/** The event types the recorder handles; SES publishes exactly these. */
export const SES_RECORDED_EVENT_TYPES = [
  "Delivery",
  "DeliveryDelay",
  "Bounce",
  "Complaint",
  "Reject",
] as const;

export interface MailProps {
  mail: DeployConfig["mail"];
}

export class Mail extends Construct {
  readonly configurationSet: ses.ConfigurationSet;
  /** The identities SendEmail is authorised against (the domain and the sender address). */
  readonly identityArns: string[];

  constructor(scope: Construct, id: string, props: MailProps) {
    super(scope, id);
    const { mail } = props;

    this.configurationSet = new ses.ConfigurationSet(this, "ConfigurationSet", {
      reputationMetrics: true,
      // SES stops sending to addresses that bounced or complained (account-level list).
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    this.configurationSet.addEventDestination("ToEventBridge", {
      destination: ses.EventDestination.eventBus(
        events.EventBus.fromEventBusName(this, "Default", "default"),
      ),
      events: [
        ses.EmailSendingEvent.DELIVERY,
        ses.EmailSendingEvent.DELIVERY_DELAY,
        ses.EmailSendingEvent.BOUNCE,
        ses.EmailSendingEvent.COMPLAINT,
        ses.EmailSendingEvent.REJECT,
      ],
    });

    if (mail.createIdentity) {
      const identity = new ses.EmailIdentity(this, "Identity", {
        identity: mail.identity.includes("@")
          ? ses.Identity.email(mail.identity)
          : ses.Identity.domain(mail.identity),
        configurationSet: this.configurationSet,
      });
      if (!mail.identity.includes("@")) {
        // The three CNAME records that verify the domain (Easy DKIM): add them to its DNS.
        for (const n of [1, 2, 3] as const) {
          // At stack level, so the output keys are stable: SesDkimRecord1..3.
          new CfnOutput(Stack.of(this), `SesDkimRecord${n}`, {
            value: `${identity[`dkimDnsTokenName${n}`]} CNAME ${identity[`dkimDnsTokenValue${n}`]}`,
            description: `DNS record ${n} of 3 that verifies ${mail.identity} for SES`,
          });
        }
      }
    }

    const identityArn = (name: string): string =>
      Stack.of(this).formatArn({ service: "ses", resource: "identity", resourceName: name });
    const sender = mail.sender.toLowerCase();
    // SES authorises against the address identity when the address itself is verified too.
    this.identityArns = [...new Set([mail.identity, sender])].map(identityArn);
  }

  get configurationSetArn(): string {
    return Stack.of(this).formatArn({
      service: "ses",
      resource: "configuration-set",
      resourceName: this.configurationSet.configurationSetName,
    });
  }

  /**
   * SESv2 SendEmail, with this configuration set, from the configured identity only. SES
   * authorises a SendEmail call with raw MIME content (ours: the PDF is attached) as
   * `ses:SendRawEmail`, a simple one as `ses:SendEmail`.
   */
  grantSendEmail(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ses:SendEmail", "ses:SendRawEmail"],
        resources: [...this.identityArns, this.configurationSetArn],
      }),
    );
  }

  /**
   * Routes this configuration set's delivery, delay, bounce, complaint and reject events to
   * the recorder.
   * Events it could not be handed are kept in `deadLetterQueue`.
   */
  routeEventsTo(recorder: lambda.IFunction, deadLetterQueue: sqs.IQueue): events.Rule {
    return new events.Rule(this, "EventsRule", {
      description:
        "SES deliveries, delays, bounces, complaints and rejects of the report mails -> record-ses-event",
      eventPattern: {
        source: ["aws.ses"],
        detail: {
          eventType: [...SES_RECORDED_EVENT_TYPES],
          mail: { tags: { "ses:configuration-set": [this.configurationSet.configurationSetName] } },
        },
      },
      targets: [
        new eventTargets.LambdaFunction(recorder, {
          deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });
  }
}
