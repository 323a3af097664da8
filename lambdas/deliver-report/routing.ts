/**
 * Which customer a report belongs to, and so who gets it:
 *
 * 1. the batch's manifest (our own batches: which customer we put in for this cvr); a
 *    company or customer id our batch does not have is unroutable, whatever the tables say;
 * 2. else (batches adopted from the portal, without manifest) the customer table by the
 *    report's `internalCustomerId`, if that row is the same company and wants the report
 *    type (batches made elsewhere may number customers differently);
 * 3. else the customer table by cvr (batches created by people in the Lasso portal):
 *    exactly one usable customer that wants the report type.
 *
 * Recipients always come from the customer's current row. A customer named by the
 * manifest that is gone, disabled, moved to another cvr or has no valid address makes the
 * report unroutable (recorded and alarmed by the caller), never silently dropped nor
 * guessed at.
 */
import type { Customer, CustomerParseResult } from "#shared/customers.ts";
import type { ReportType } from "#shared/lasso/enums.ts";
import type { ManifestEntry } from "#shared/state/records.ts";

export interface CustomerDirectory {
  get(customerId: number): Promise<CustomerParseResult | undefined>;
  findByCvr(cvr: string): Promise<CustomerParseResult[]>;
}

export interface RouteInput {
  cvr: string;
  reportType: ReportType;
  internalCustomerId?: number | undefined;
  /** The batch's manifest, when the batch is ours. */
  manifest?: readonly ManifestEntry[] | undefined;
  /** The batch is one of our runs' (not adopted from the portal): the manifest is the whole truth. */
  submittedByUs?: boolean;
}

export type RouteVia = "manifest" | "internalCustomerId" | "cvr";

export type Route =
  | { ok: true; customer: Customer; via: RouteVia }
  | { ok: false; reason: string; customerId?: number };

function usable(result: CustomerParseResult | undefined, cvr: string): Customer | undefined {
  return result?.ok === true && result.customer.enabled && result.customer.cvr === cvr
    ? result.customer
    : undefined;
}

async function fromManifest(
  entry: ManifestEntry,
  input: RouteInput,
  customers: CustomerDirectory,
): Promise<Route> {
  const id = entry.customerId;
  const result = await customers.get(id);
  if (result === undefined) {
    return { ok: false, customerId: id, reason: `customer ${id} (in the batch's manifest) no longer exists` };
  }
  if (!result.ok)
    return { ok: false, customerId: id, reason: `customer ${id}'s row is unusable: ${result.reason}` };
  const customer = result.customer;
  if (customer.cvr !== input.cvr) {
    return {
      ok: false,
      customerId: id,
      reason: `customer ${id} now has cvr ${customer.cvr}, the report is for ${input.cvr}`,
    };
  }
  if (!customer.enabled) return { ok: false, customerId: id, reason: `customer ${id} is disabled` };
  return { ok: true, customer, via: "manifest" };
}

export async function routeReport(input: RouteInput, customers: CustomerDirectory): Promise<Route> {
  const entries = (input.manifest ?? []).filter((entry) => entry.cvr === input.cvr);
  if (input.submittedByUs === true || entries.length > 0) {
    // Our own batch: only the companies and customers we put in are delivered, ever.
    if (entries.length === 0) {
      return { ok: false, reason: `cvr ${input.cvr} is not in the batch we submitted (manifest)` };
    }
    const id = input.internalCustomerId;
    if (id !== undefined) {
      const entry = entries.find((e) => e.customerId === id);
      if (entry !== undefined) return fromManifest(entry, input, customers);
      return {
        ok: false,
        customerId: id,
        reason: `the report names customer ${id}; the manifest has cvr ${input.cvr} for customer ${entries.map((e) => e.customerId).join(", ")}`,
      };
    }
    const only = entries.length === 1 ? entries[0] : undefined;
    if (only !== undefined) return fromManifest(only, input, customers);
    return {
      ok: false,
      reason: `cvr ${input.cvr} is in the manifest for customers ${entries.map((e) => e.customerId).join(", ")} and the report does not say which`,
    };
  }

  if (input.internalCustomerId !== undefined) {
    const customer = usable(await customers.get(input.internalCustomerId), input.cvr);
    if (customer?.reportTypes.includes(input.reportType))
      return { ok: true, customer, via: "internalCustomerId" };
  }

  const results = await customers.findByCvr(input.cvr);
  const candidates = results.map((result) => usable(result, input.cvr)).filter((c) => c !== undefined);
  const wanting = candidates.filter((customer) => customer.reportTypes.includes(input.reportType));
  // Nobody asked us for a report of a batch made elsewhere: it goes only to who wants its type.
  const chosen = wanting;
  if (chosen.length === 0 && candidates.length > 0) {
    return {
      ok: false,
      reason: `no customer with cvr ${input.cvr} wants ${input.reportType} reports (customer ${candidates.map((c) => c.customerId).join(", ")} does not)`,
    };
  }
  if (chosen.length === 1 && chosen[0] !== undefined) return { ok: true, customer: chosen[0], via: "cvr" };
  if (chosen.length > 1) {
    return {
      ok: false,
      reason: `cvr ${input.cvr} belongs to several customers (${chosen.map((c) => c.customerId).join(", ")})`,
    };
  }
  const unusable = results.filter((result) => !result.ok || !result.customer.enabled);
  if (unusable.length > 0) {
    const why = unusable
      .map((result) =>
        result.ok
          ? `customer ${result.customer.customerId} is disabled`
          : `customer ${result.customerId ?? "?"}: ${result.reason}`,
      )
      .join("; ");
    return { ok: false, reason: `no usable customer with cvr ${input.cvr} (${why})` };
  }
  return { ok: false, reason: `no customer with cvr ${input.cvr}` };
}
