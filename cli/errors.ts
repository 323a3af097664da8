/**
 * The CLI's two kinds of error, and the exit codes they mean: a usage error (the command
 * line is wrong: exit 2) and a failure (the command could not do its job: exit 1).
 */

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The command line is wrong (unknown schedule, conflicting options, bad value): exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The command could not do what was asked (nothing found, AWS refused, bad rows): exit 1. */
export class CliFailure extends Error {
  override readonly name = "CliFailure";
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
