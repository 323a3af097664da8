/**
 * Exit codes of the command line itself (no target is reached): 0 for help, 2 for a
 * wrong command line, 1 when the target cannot be opened.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "#cli/main.ts";

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await runCli(args, { stdout, stderr });
  return { code, stdout: out, stderr: err };
}

describe("lasso-reports help", () => {
  it("the program's help and the help texts written by hand fit an 80-column terminal", async () => {
    for (const command of [[], ["plan"], ["test-send"], ["statement"], ["schedules", "set"]]) {
      const help = await cli([...command, "--help"]);
      const wide = help.stdout.split("\n").filter((line) => line.length > 80);
      expect(wide, `lasso-reports ${command.join(" ")} --help`).toEqual([]);
    }
  });
});

describe("lasso-reports exit codes", () => {
  it("--help on the program and on every command exits 0", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    for (const command of [
      "customers",
      "plan",
      "run",
      "status",
      "deliveries",
      "statement",
      "download",
      "resend",
      "redrive",
      "webhook",
    ]) {
      expect(top.stdout).toContain(command);
    }
    for (const command of [
      ["customers", "import"],
      ["customers", "export"],
      ["customers", "list"],
      ["customers", "validate"],
      ["plan"],
      ["run"],
      ["status"],
      ["deliveries"],
      ["statement"],
      ["download"],
      ["resend"],
      ["redrive"],
      ["webhook", "test"],
    ]) {
      const help = await cli([...command, "--help"]);
      expect(help.code, command.join(" ")).toBe(0);
      expect(help.stdout).toMatch(/^Usage: lasso-reports /);
    }
  });

  it("exits 2 on a wrong command line, before reaching anything", async () => {
    const cases = [
      ["bogus"],
      ["customers"],
      ["customers", "import"],
      ["plan"],
      ["status", "--limit", "0"],
      ["deliveries", "--local"],
      ["deliveries", "--customer", "1", "--from", "2026-02-30"],
      ["deliveries", "--customer", "1", "--from", "2026-12-02", "--to", "2026-12-01"],
      ["deliveries", "--customer", "1", "--type", "Aarsrapport"],
      ["deliveries", "--customer", "x1"],
      ["statement", "--customer", "1"],
      ["statement", "--all", "--month", "2026-13", "--firm", "F"],
      ["statement", "--customer", "1", "--month", "2026-12", "--format", "xlsx", "--firm", "F"],
      ["download"],
      ["download", "--batch", "a/b"],
      ["resend", "--batch", "b"],
      ["customers", "export", "--format", "xlsx"],
      ["--stack", "Other", "--local", "status"],
    ];
    for (const args of cases) {
      const run = await cli(args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr, args.join(" ")).not.toBe("");
    }
  });

  it("exits 1 when the local endpoints file is missing", async () => {
    const run = await cli(["--endpoints", "/nonexistent/endpoints.json", "status"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no endpoints file at \/nonexistent\/endpoints\.json/);
  });
});
