/**
 * EventBridge Scheduler: the rate schedule of the poller. The report schedules are data
 * (the schedules table), applied by sync-schedules into the stack's schedule group
 * (lib/constructs/report-schedules.ts); what they send submit-batches is declared here.
 */
import { Duration } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { DeployConfig, ScheduleConfig } from "../config/schema.ts";

/** What submit-batches receives from a firing (lambdas/shared/scheduler-schedules.ts builds it). */
export interface SubmitScheduleEvent {
  schedule: ScheduleConfig;
  /** `<aws.scheduler.scheduled-time>`: the cron time, the same on every retry of a firing. */
  scheduledTime: string;
}

export interface SchedulesProps {
  config: DeployConfig;
  pollFunction: lambda.IFunction;
  /** Firings the scheduler could not hand to the function. */
  deadLetterQueue: sqs.IQueue;
}

export class Schedules extends Construct {
  readonly pollSchedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const { config } = props;

    this.pollSchedule = new scheduler.Schedule(this, "Poll", {
      description: "Reconciles open Lasso batches",
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(config.poll.rateMinutes)),
      // The poll rate is the delay bound for lost webhooks: fire on time.
      timeWindow: scheduler.TimeWindow.off(),
      target: new targets.LambdaInvoke(props.pollFunction, {
        input: scheduler.ScheduleTargetInput.fromObject({
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
        }),
        deadLetterQueue: props.deadLetterQueue,
        // A missed poll is made up by the next one; no point retrying past it.
        retryAttempts: 2,
        maxEventAge: Duration.seconds(Math.max(60, config.poll.rateMinutes * 60)),
      }),
    });
  }
}
