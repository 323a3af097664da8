/**
 * EventBridge Scheduler: one schedule per configured report schedule (cron in its time
 * zone) invoking submit-batches with the schedule and its scheduled time, so a repeated
 * delivery of the same firing is the same run; and the rate schedule of the poller.
 */
import { Duration } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { TimeZone } from "aws-cdk-lib/core";
import { Construct } from "constructs";
import { schedulerExpression } from "#shared/schedule-rules.ts";
import type { DeployConfig, ScheduleConfig } from "../config/schema.ts";

/** What submit-batches receives from a firing. */
export interface SubmitScheduleEvent {
  schedule: ScheduleConfig;
  /** `<aws.scheduler.scheduled-time>`: the cron time, the same on every retry of a firing. */
  scheduledTime: string;
}

export interface SchedulesProps {
  config: DeployConfig;
  submitFunction: lambda.IFunction;
  pollFunction: lambda.IFunction;
  /** Firings the scheduler could not hand to the function. */
  deadLetterQueue: sqs.IQueue;
}

export class Schedules extends Construct {
  readonly runSchedules: scheduler.Schedule[] = [];
  readonly pollSchedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const { config } = props;

    for (const schedule of config.schedules) {
      const input: SubmitScheduleEvent = {
        schedule,
        scheduledTime: scheduler.ContextAttribute.scheduledTime,
      };
      this.runSchedules.push(
        new scheduler.Schedule(this, `Run-${schedule.name}`, {
          description: `${schedule.reportType} reports for group ${schedule.group} (${schedule.name})`,
          // A business-day rule runs on its candidate cron; submit-batches drops the candidates that are not the rule's day.
          schedule: scheduler.ScheduleExpression.expression(
            schedulerExpression(schedule),
            TimeZone.of(schedule.timeZone),
          ),
          // Safe for submissions: the run is keyed on the scheduled time, not the firing time.
          timeWindow:
            schedule.flexibleWindowMinutes > 0
              ? scheduler.TimeWindow.flexible(Duration.minutes(schedule.flexibleWindowMinutes))
              : scheduler.TimeWindow.off(),
          enabled: schedule.enabled,
          target: new targets.LambdaInvoke(props.submitFunction, {
            input: scheduler.ScheduleTargetInput.fromObject(input),
            deadLetterQueue: props.deadLetterQueue,
            retryAttempts: 10,
            maxEventAge: Duration.hours(12),
          }),
        }),
      );
    }

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
