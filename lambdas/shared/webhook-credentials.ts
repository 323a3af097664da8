/**
 * What Lasso is told to authenticate its webhook calls with (`authConfig`), by the method a
 * schedule asks for: the webhook header with the secret, or BasicAuth with our user name and
 * the secret as password. receive-webhook accepts both (lambdas/receive-webhook/auth.ts).
 */
import type { WebhookAuthConfig } from "./lasso/schemas.ts";
import type { ScheduleWebhookAuth } from "./schedule.ts";

export interface WebhookCredentials {
  /** The header Lasso sends the secret in (Method "Header"). */
  headerName: string;
  /** The BasicAuth user name (Method "BasicAuth"); absent: BasicAuth is not set up. */
  basicUser?: string;
  /** The webhook secret's current value. */
  secret: string;
}

/** The BasicAuth user name unless the deploy config's `webhook.basicUser` says otherwise. */
export const DEFAULT_WEBHOOK_BASIC_USER = "lasso-reports";

/** A BasicAuth user name: no colon (it ends the user name), nothing invisible. */
export const BASIC_USER_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function webhookAuthConfig(
  method: ScheduleWebhookAuth,
  credentials: WebhookCredentials,
): WebhookAuthConfig {
  if (method === "Header")
    return { Method: "Header", Key: credentials.headerName, Value: credentials.secret };
  if (credentials.basicUser === undefined) {
    throw new Error(
      "a schedule asks for webhookAuth BasicAuth, but no BasicAuth user is set (webhook.basicUser)",
    );
  }
  return { Method: "BasicAuth", Key: credentials.basicUser, Value: credentials.secret };
}
