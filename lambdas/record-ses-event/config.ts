/** record-ses-event's configuration, read once at cold start (names: env-names.ts). */

import { intEnv, requireEnv } from "#shared/env.ts";
import { ENV } from "#shared/env-names.ts";

export interface RecordSesEventConfig {
  stateTable: string;
  retentionDays: number;
}

export function readRecordSesEventConfig(env: NodeJS.ProcessEnv = process.env): RecordSesEventConfig {
  return {
    stateTable: requireEnv(ENV.stateTable, env),
    retentionDays: intEnv(ENV.stateRetentionDays, { min: 1 }, env),
  };
}
