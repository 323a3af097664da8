/**
 * Each function's bundle against its bare bundle: the SDK clients, Powertools utilities
 * and middy that the function's own code imports, and nothing else, bundled with the very
 * esbuild options CDK uses (lib/constructs/report-function.ts). Prints size and cold
 * import time (median of alternated fresh `node` processes, both with the runtime's
 * NODE_OPTIONS) and ends with one line a script can read:
 *
 *   bundles: max size ratio X.XX, max import ratio Y.YY
 *
 * Run: npm run synth && npx tsx bench/bundles.bench.ts [--runs 9]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import { LAMBDA_BUNDLING, PROJECT_ROOT } from "#lib/constructs/report-function.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "9" } } });
const RUNS = Number(values.runs);
const out = mkdtempSync(join(tmpdir(), "lasso-bundles-"));
const LIBRARY = /^(@aws-sdk\/[^/"]+|@aws-lambda-powertools\/[^"]+|@middy\/[^"]+)$/;

async function bundle(entry: { path?: string; contents?: string }, name: string) {
  const result = await esbuild.build({
    ...(entry.path === undefined
      ? { stdin: { contents: entry.contents ?? "", resolveDir: PROJECT_ROOT, loader: "ts" } }
      : { entryPoints: [entry.path] }),
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    outfile: join(out, name, "index.mjs"),
    format: "esm",
    platform: "node",
    target: LAMBDA_BUNDLING.target,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ["module", "main"],
    banner: { js: LAMBDA_BUNDLING.banner },
    metafile: true,
    logLevel: "silent",
  });
  const file = join(out, name, "index.mjs");
  return { file, bytes: statSync(file).size, metafile: result.metafile };
}

/** The library imports (value imports only) of the project files that went into a bundle. */
function libraryImports(metafile: esbuild.Metafile): string {
  const lines: string[] = [];
  const names: string[] = [];
  let n = 0;
  for (const input of Object.keys(metafile.inputs)) {
    if (input.includes("node_modules") || !input.endsWith(".ts")) continue;
    const source = readFileSync(join(PROJECT_ROOT, input), "utf8");
    for (const match of source.matchAll(/^import\s+(?!type\b)([^;]+?)\s+from\s+"([^"]+)";/gms)) {
      const [, clause = "", from = ""] = match;
      if (!LIBRARY.test(from)) continue;
      const named = /\{([^}]*)\}/.exec(clause)?.[1] ?? "";
      const bindings = named
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== "" && !part.startsWith("type "))
        .map((part) => part.split(/\s+as\s+/)[0]?.trim() ?? "");
      const defaultName = /^([A-Za-z_$][\w$]*)\s*(,|$)/.exec(clause.trim())?.[1];
      const aliases = bindings.map((binding) => `${binding} as b${n++}`);
      if (defaultName !== undefined) {
        lines.push(`import b${n} from "${from}";`);
        names.push(`b${n++}`);
      }
      if (aliases.length > 0) {
        lines.push(`import { ${aliases.join(", ")} } from "${from}";`);
        names.push(...aliases.map((alias) => alias.split(" as ")[1] ?? ""));
      }
    }
  }
  return `${lines.join("\n")}\nexport { ${names.join(", ")} };\n`;
}

/**
 * Each function's environment as the stack sets it (cdk.out, from `npm run synth`), with
 * every reference to another resource replaced by a placeholder URL: the handlers read and
 * validate their configuration at import, as on Lambda.
 */
function deployedEnvironments(): Map<string, Record<string, string>> {
  const template = JSON.parse(
    readFileSync(join(PROJECT_ROOT, "cdk.out", "LassoReports-Stateless.template.json"), "utf8"),
  ) as {
    Resources: Record<
      string,
      { Type: string; Properties: { Environment?: { Variables: Record<string, unknown> } } }
    >;
  };
  const byService = new Map<string, Record<string, string>>();
  for (const resource of Object.values(template.Resources)) {
    const variables =
      resource.Type === "AWS::Lambda::Function" ? resource.Properties.Environment?.Variables : undefined;
    if (variables === undefined) continue;
    const env = Object.fromEntries(
      Object.entries(variables).map(([name, value]) => [
        name,
        typeof value === "string" ? value : "https://resource.example/ref",
      ]),
    );
    if (env.POWERTOOLS_SERVICE_NAME !== undefined) byService.set(env.POWERTOOLS_SERVICE_NAME, env);
  }
  return byService;
}
const environments = deployedEnvironments();

/** Output bytes of a bundle by npm package ("project code" for ours). */
function bytesByPackage(built: { file: string; metafile: esbuild.Metafile }): Map<string, number> {
  const packages = new Map<string, number>();
  for (const [input, info] of Object.entries(
    built.metafile.outputs[relative(PROJECT_ROOT, built.file)]?.inputs ?? {},
  )) {
    const at = input.lastIndexOf("node_modules/");
    const parts = at < 0 ? [] : input.slice(at + "node_modules/".length).split("/");
    const name =
      at < 0
        ? "project code"
        : (parts[0] ?? "").startsWith("@")
          ? `${parts[0]}/${parts[1]}`
          : (parts[0] ?? "");
    packages.set(name, (packages.get(name) ?? 0) + info.bytesInOutput);
  }
  return packages;
}

/** Milliseconds to import the bundle in a fresh process, as Lambda's runtime would. */
function coldImportMs(file: string, functionEnv: Record<string, string>): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
  const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    env: {
      ...process.env,
      ...functionEnv,
      NODE_OPTIONS: LAMBDA_BUNDLING.nodeOptions,
      AWS_REGION: "eu-central-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    encoding: "utf8",
  });
  return Number(output.trim().split("\n").at(-1));
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const folders = readdirSync(join(PROJECT_ROOT, "lambdas")).filter((name) => name !== "shared");
let maxSize = 0;
let maxImport = 0;
console.log(`function           bundle KB   bare KB  size×  import ms  bare ms  import×   (${RUNS} runs)`);
for (const folder of folders) {
  const functionEnv = environments.get(folder);
  if (functionEnv === undefined) throw new Error(`no ${folder} in cdk.out: run npm run synth first`);
  const fn = await bundle({ path: join(PROJECT_ROOT, "lambdas", folder, "handler.ts") }, folder);
  const bare = await bundle({ contents: libraryImports(fn.metafile) }, `${folder}-bare`);
  const fnTimes: number[] = [];
  const bareTimes: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Alternated, so a busy moment of the machine hits both.
    fnTimes.push(coldImportMs(fn.file, functionEnv));
    bareTimes.push(coldImportMs(bare.file, functionEnv));
  }
  const sizeRatio = fn.bytes / bare.bytes;
  const importRatio = median(fnTimes) / median(bareTimes);
  maxSize = Math.max(maxSize, sizeRatio);
  maxImport = Math.max(maxImport, importRatio);
  console.log(
    `${folder.padEnd(18)} ${(fn.bytes / 1024).toFixed(0).padStart(9)} ${(bare.bytes / 1024).toFixed(0).padStart(9)} ${sizeRatio.toFixed(2).padStart(6)} ${median(fnTimes).toFixed(1).padStart(10)} ${median(bareTimes).toFixed(1).padStart(8)} ${importRatio.toFixed(2).padStart(8)}`,
  );
  // What the function carries beyond its bare bundle, by package (project code as one).
  const beyond = [...bytesByPackage(fn).entries()]
    .map(([name, bytes]) => [name, bytes - (bytesByPackage(bare).get(name) ?? 0)] as const)
    .filter(([, bytes]) => bytes > 2048)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6);
  console.log(
    `${"".padEnd(18)} beyond the bare bundle: ${beyond.map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KB`).join(", ")}`,
  );
}
writeFileSync(join(out, "done"), "");
console.log(`bundles: max size ratio ${maxSize.toFixed(2)}, max import ratio ${maxImport.toFixed(2)}`);
