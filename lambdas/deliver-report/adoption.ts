/**
 * Whether a batch made elsewhere (the Lasso portal) may be adopted on a webhook's ring
 * (doorbell.ts, step 1): only on Lasso's own word about it.
 */
import type { LassoBatch } from "#shared/lasso/schemas.ts";
import { parseLassoTime } from "#shared/reconcile/assess.ts";

/** Batches made elsewhere are adopted only while they are this young. */
const ADOPT_MAX_AGE_MS = 30 * 86_400_000;

export const pdfHostOf = (url: string | undefined): string | undefined => {
  if (url === undefined) return undefined;
  try {
    return new URL(url).host.slice(0, 200);
  } catch {
    return undefined;
  }
};

/** Same URL, ignoring a trailing slash and the host's case. */
function sameUrl(a: string, b: string): boolean {
  try {
    const strip = (u: URL) => `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}${u.search}`;
    return strip(new URL(a)) === strip(new URL(b));
  } catch {
    return false;
  }
}

/**
 * Why a batch made elsewhere is not ours to adopt, if it is not: Lasso must say it notifies
 * this very webhook (else a ring could make us mail any batch of the organisation), it must
 * have a type, and it must be young (a replayed webhook must not mail a portal batch of
 * long ago, nor a listener batch's years of history, to today's customers).
 */
export function adoptionRefusal(
  batch: LassoBatch,
  id: string,
  now: Date,
  webhookUrl: string | undefined,
): string | undefined {
  if (batch.id !== id) return `Lasso answered for another batch (${batch.id})`;
  if (webhookUrl === undefined) return "no webhook URL is configured: batches made elsewhere are not adopted";
  if (batch.notificationWebhookUrl === undefined || !sameUrl(batch.notificationWebhookUrl, webhookUrl)) {
    const host = pdfHostOf(batch.notificationWebhookUrl);
    return `Lasso notifies ${host ?? "no webhook"} for this batch, not ours: not adopted`;
  }
  if (batch.type === undefined) return "Lasso's answer for this batch has no report type";
  const made = parseLassoTime(batch.timestamp);
  if (made === undefined) return "Lasso's answer for this batch has no creation time: not adopted";
  if (now.getTime() - made.getTime() > ADOPT_MAX_AGE_MS) {
    return `a batch made elsewhere on ${made.toISOString()}, more than ${ADOPT_MAX_AGE_MS / 86_400_000} days ago: not adopted`;
  }
  return undefined;
}
