/** sync-schedules' configuration, read once at cold start (names: env-names.ts). */
import { intEnv, requireEnv } from "#shared/env.ts";
import { ENV } from "#shared/env-names.ts";
import type { ScheduleTarget } from "#shared/scheduler-schedules.ts";

export interface SyncSchedulesConfig {
  schedulesTable: string;
  stateTable: string;
  retentionDays: number;
  target: ScheduleTarget;
}

export function readSyncSchedulesConfig(env: NodeJS.ProcessEnv = process.env): SyncSchedulesConfig {
  return {
    schedulesTable: requireEnv(ENV.schedulesTable, env),
    stateTable: requireEnv(ENV.stateTable, env),
    retentionDays: intEnv(ENV.stateRetentionDays, { min: 1 }, env),
    target: {
      groupName: requireEnv(ENV.scheduleGroup, env),
      submitFunctionArn: requireEnv(ENV.submitFunctionArn, env),
      roleArn: requireEnv(ENV.schedulerRoleArn, env),
      deadLetterQueueArn: requireEnv(ENV.scheduledRunsDlqArn, env),
    },
  };
}
