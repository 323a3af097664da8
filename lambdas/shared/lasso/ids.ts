/**
 * Lasso's batch ids are GUIDs. Every path that names a batch (Lasso's answers, webhooks,
 * the CLI) compares them in one canonical form, lower case without braces, so that one
 * report cannot become two by a different spelling of its batch id.
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The canonical form of a batch id given as a GUID (any case, surrounding white space, one
 * pair of braces), or undefined when it is not a GUID. Nothing else is forgiven: a GUID
 * with a zero-width character inside is not one.
 */
export function canonicalBatchId(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  let text = value.trim().toLowerCase();
  if (text.startsWith("{") && text.endsWith("}")) text = text.slice(1, -1).trim();
  return GUID.test(text) ? text : undefined;
}

/**
 * An id from Lasso's own answers: canonical when it is a GUID, else kept as Lasso wrote it
 * (an unexpected shape must not make a real batch unreadable).
 */
export function batchIdFromLasso(value: string): string {
  return canonicalBatchId(value) ?? value.trim();
}
