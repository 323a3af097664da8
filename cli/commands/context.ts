/**
 * What every command file shares: the terminal it talks to, the global options, the
 * argument parsers, the yes/no question, and `withTarget`, which opens the target the
 * global options name, runs the command on it and stores its result for main.ts to print.
 */
import { createInterface } from "node:readline/promises";
import { type Command, InvalidArgumentError } from "commander";
import { REPORT_TYPES, reportTypeName } from "#shared/lasso/enums.ts";
import { isTimeZone } from "#shared/schedule.ts";
import { type CommandResult, fitText, outputWidth, withReadable } from "../output.ts";
import { type ProgressFactory, type ProgressStream, progressFactory } from "../progress.ts";
import { openTarget, type Target, type TargetOptions } from "../target.ts";

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: ProgressStream;
  /** Where confirmations are read from (default: process.stdin); EOF answers no. */
  stdin?: NodeJS.ReadableStream;
}

export interface GlobalOptions extends TargetOptions {
  json?: boolean;
  quiet?: boolean;
  /** Tables as wide as their content (no wrapping to the terminal). */
  wide?: boolean;
  /** Times in this zone instead of the target's (the deploy config's operators.timeZone). */
  timeZone?: string;
}

/** A command's work on the target: its result, printed by main.ts. */
export type TargetWork<A extends unknown[]> = (
  target: Target,
  globals: GlobalOptions,
  progress: ProgressFactory,
  ...args: A
) => Promise<CommandResult>;

export interface CommandContext {
  io: CliIo;
  /** Runs `work` on the target named by the global options, then closes its clients. */
  withTarget<A extends unknown[]>(work: TargetWork<A>): (...args: [...A, Command]) => Promise<void>;
}

export function commandContext(io: CliIo, sink: { result?: CommandResult }): CommandContext {
  const progressOf = (globals: GlobalOptions): ProgressFactory =>
    progressFactory({ stream: io.stderr, enabled: globals.quiet !== true });
  return {
    io,
    withTarget:
      <A extends unknown[]>(work: TargetWork<A>) =>
      async (...args: [...A, Command]): Promise<void> => {
        const command = args.at(-1) as Command;
        const globals = command.optsWithGlobals<GlobalOptions>();
        const target = await openTarget(globals);
        const settings = {
          width: outputWidth(io.stdout, process.env, globals.wide === true),
          timeZone: globals.timeZone ?? target.timeZone,
        };
        try {
          const result = await withReadable(settings, () =>
            work(target, globals, progressOf(globals), ...(args.slice(0, -1) as A)),
          );
          sink.result = { ...result, text: fitText(result.text, settings.width) };
        } finally {
          target.destroy();
        }
      },
  };
}

/** Asks `question` on stderr and reads one answer line; only yes/ja (y/j) is a yes. */
export async function askYes(io: CliIo, question: string): Promise<boolean> {
  const input = io.stdin ?? process.stdin;
  const reader = createInterface({ input, output: io.stderr, terminal: false });
  io.stderr.write(`${question} [y/N] `);
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      reader.once("line", resolve);
      reader.once("close", () => resolve(undefined));
    });
    return /^\s*(y|yes|j|ja)\s*$/i.test(answer ?? "");
  } finally {
    reader.close();
  }
}

export const listForPrompt = (rows: readonly { customerId: number; cvr?: string; name?: string }[]): string =>
  rows
    .slice(0, 20)
    .map((row) => `  ${row.customerId}  ${row.cvr ?? ""}  ${row.name ?? ""}`.trimEnd())
    .concat(rows.length > 20 ? [`  … and ${rows.length - 20} more`] : [])
    .join("\n");

export const positiveInt =
  (what: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${what} must be a whole number of at least 1`);
    }
    return n;
  };

/** An IANA time zone (`--time-zone`). */
export function timeZoneOption(value: string): string {
  if (!isTimeZone(value))
    throw new InvalidArgumentError("must be an IANA time zone such as Europe/Copenhagen");
  return value;
}

export const seconds = (value: string): number => positiveInt("seconds")(value) * 1000;

export function reportTypeOption(value: string): string {
  const type = reportTypeName(value);
  if (type === undefined) throw new InvalidArgumentError(`must be one of ${REPORT_TYPES.join(", ")}`);
  return type;
}
