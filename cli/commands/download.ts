/**
 * `download --batch ID`: saves Lasso's own zip of a batch (GET /batches/{id}/download,
 * every PDF of the batch as Lasso has it), for an operator or auditor who wants Lasso's
 * copy beside our archive (docs/evidence.md).
 */
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { UsageError } from "../errors.ts";
import { fields, ok } from "../output.ts";
import { type CommandContext, seconds } from "./context.ts";

interface DownloadOptions {
  batch: string;
  out?: string;
  timeout: number;
}

export function addDownloadCommand(program: Command, context: CommandContext): void {
  program
    .command("download")
    .description("save Lasso's zip of a batch (every PDF of it, as Lasso has it)")
    .requiredOption("--batch <id>", "Lasso's batch id (status shows them)")
    .option("--out <file>", "where to write the zip (default <batch id>.zip)")
    .addOption(
      new Option("--timeout <s>", "how long the download may take, in seconds")
        .argParser(seconds)
        .default(120_000, "120"),
    )
    .hook("preAction", (command) => {
      const batch = command.opts<DownloadOptions>().batch.trim();
      if (!/^[A-Za-z0-9_-]{1,200}$/.test(batch)) throw new UsageError(`not a Lasso batch id: ${batch}`);
    })
    .action(
      context.withTarget(async (target, _globals, _progress, options: DownloadOptions) => {
        const batch = options.batch.trim();
        const client = await target.lasso();
        const zip = await client.downloadBatchZip(batch, { timeoutMs: options.timeout });
        const file = options.out ?? `${batch}.zip`;
        await writeFile(file, zip);
        const sha256 = createHash("sha256").update(zip).digest("hex");
        return ok(
          { batch, file, bytes: zip.byteLength, sha256 },
          fields([
            ["Lasso's zip of batch", batch],
            ["saved to", file],
            ["bytes", zip.byteLength],
            ["SHA-256", sha256],
          ]),
        );
      }),
    );
}
