/** Time as the use cases see it: a clock, and the invocation's deadline. */

export type Clock = () => Date;

/** Time left in this invocation: a use case starts no work it could not finish. */
export interface Deadline {
  remainingMs(): number;
}

/** The deadline of a Lambda invocation. */
export const deadlineOf = (context: { getRemainingTimeInMillis(): number }): Deadline => ({
  remainingMs: () => context.getRemainingTimeInMillis(),
});
