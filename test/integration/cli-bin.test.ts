/**
 * The `lasso-reports` launcher (cli/bin.js) as a shell runs it: a reader that closes the
 * pipe early (`lasso-reports --help | head`) ends the command quietly, not with a stack.
 */
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "cli", "bin.js");

test("a closed stdout (| head) ends the command with exit code 0 and nothing on stderr", async () => {
  const child = spawn(process.execPath, [BIN, "--help"], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  // Closed before the command writes anything: its first write meets a broken pipe.
  child.stdout.destroy();
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((done) => child.on("close", done));
  expect(stderr).not.toMatch(/EPIPE|Error/);
  expect(code).toBe(0);
}, 30_000);
