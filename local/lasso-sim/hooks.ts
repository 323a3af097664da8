/**
 * Test hooks over HTTP, under /_sim (no API key, no rate limit, no faults), so a runner or the
 * CLI in another process can drive the simulator:
 *
 *   GET    /_sim/health                      → { ok: true }
 *   GET    /_sim/batches                     → snapshots of all batches with their items
 *   POST   /_sim/batches/{id}/change?cvr=…   → { reportId } (or body { "cvr": … })
 *   POST   /_sim/batches/{id}/stop           → the batch (ListeningStopped)
 *   POST   /_sim/batches/{id}/run            → the batch (a Scheduled batch starts now)
 *   POST   /_sim/faults                      → 204; body: a FaultRule or an array of them
 *   POST   /_sim/tokens/expire               → 204; every continuation token so far answers 400
 *   DELETE /_sim/faults                      → 204; clears the rules
 *   GET    /_sim/webhooks                    → the webhook log, plus disabled URLs
 *   POST   /_sim/webhooks?enabled=true|false → { enabled } (or body { "enabled": … })
 *   POST   /_sim/settle                      → 204 once all pending work is done
 *   GET    /_sim/pdf/{itemId}                → the report's PDF bytes
 */

import { ApiError, badRequest, ERROR_CODES, notFound } from "./errors.ts";
import { validateFaultRule } from "./faults.ts";
import { json, type Reply } from "./http.ts";
import type { LassoSimulator } from "./types.ts";
import { field, isRecord } from "./validation.ts";

const methodNotAllowed = (): ApiError =>
  new ApiError(405, ERROR_CODES.methodNotAllowed, "Method not allowed on this route");

export async function handleSimHook(
  sim: LassoSimulator,
  method: string,
  segments: readonly string[],
  query: URLSearchParams,
  body: unknown,
): Promise<Reply> {
  const [first, id, action] = segments;
  const snapshotOf = (batchId: string) => sim.batches().find((b) => b.id === batchId.toLowerCase());
  switch (first) {
    case "health":
      return json(200, { ok: true });
    case "batches": {
      if (id === undefined) {
        if (method !== "GET") throw methodNotAllowed();
        return json(200, sim.batches());
      }
      if (method !== "POST") throw methodNotAllowed();
      if (action === "change") {
        const cvr = query.get("cvr") ?? (isRecord(body) ? field(body, "cvr") : undefined);
        if (typeof cvr !== "string" && typeof cvr !== "number") throw badRequest("cvr is required");
        return json(200, { reportId: sim.triggerChange(id, cvr) });
      }
      if (action === "stop") sim.stopListening(id);
      else if (action === "run") sim.runNow(id);
      else throw notFound("Unknown test hook");
      return json(200, snapshotOf(id));
    }
    case "faults": {
      if (method === "DELETE") {
        sim.clearFaults();
        return { status: 204 };
      }
      if (method !== "POST") throw methodNotAllowed();
      const rules = Array.isArray(body) ? body : [body];
      const parsed = rules.map(validateFaultRule);
      const problems = parsed.filter((r): r is string => typeof r === "string");
      if (problems.length > 0) throw badRequest(`Invalid fault rule: ${problems.join("; ")}`, problems);
      for (const rule of parsed) if (typeof rule !== "string") sim.injectFault(rule);
      return { status: 204 };
    }
    case "webhooks": {
      if (method === "GET") {
        return json(200, { deliveries: sim.webhookDeliveries(), disabledUrls: sim.disabledWebhookUrls() });
      }
      if (method !== "POST") throw methodNotAllowed();
      const value = query.get("enabled") ?? (isRecord(body) ? field(body, "enabled") : undefined);
      const enabled =
        value === true || value === "true" ? true : value === false || value === "false" ? false : undefined;
      if (enabled === undefined) throw badRequest("enabled must be true or false");
      sim.setWebhooksEnabled(enabled);
      return json(200, { enabled });
    }
    case "tokens":
      if (method !== "POST") throw methodNotAllowed();
      if (id !== "expire") throw notFound("Unknown test hook");
      sim.expireContinuationTokens();
      return { status: 204 };
    case "settle":
      if (method !== "POST") throw methodNotAllowed();
      await sim.settle();
      return { status: 204 };
    case "pdf": {
      const bytes = id === undefined ? undefined : await sim.pdfBytes(id);
      if (bytes === undefined) throw notFound("No PDF for that item");
      return { status: 200, headers: { "content-type": "application/pdf" }, body: bytes };
    }
    default:
      throw notFound("Unknown test hook");
  }
}
