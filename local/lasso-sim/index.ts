/** Entry point of the Lasso simulator library (see README.md). */

export { chaosFaults } from "./faults.ts";
export { DEFAULT_API_KEY, startLassoSimulator } from "./server.ts";
export type {
  BatchJson,
  BatchSnapshot,
  FaultOptions,
  FaultRule,
  ItemJson,
  LassoSimulator,
  LassoSimulatorOptions,
  RouteName,
  WebhookDeliveryRecord,
  WebhookPayload,
} from "./types.ts";
