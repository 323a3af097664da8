/**
 * The unique token submit-batches puts into every batch name it sends Lasso
 * (`<name> [lr-<16 hex>]`): what resolves an ambiguous POST, and what tells a batch made by
 * one of our runs from one made by people in the Lasso portal.
 */
export const RUN_TOKEN_PREFIX = "lr-";

const TOKEN_IN_NAME = new RegExp(`\\[${RUN_TOKEN_PREFIX}[0-9a-f]{16}\\]`);

/** Whether a batch name carries one of our run tokens. */
export function carriesRunToken(batchName: string): boolean {
  return TOKEN_IN_NAME.test(batchName);
}
