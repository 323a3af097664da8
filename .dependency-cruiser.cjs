/**
 * The rooms of the house and what each may import (docs/architecture.md, "Rooms").
 * `npm run deps` checks them; `npm test` runs it; test/infra/dependency-rules.test.ts shows
 * that breaking a rule fails the check.
 *
 *   lambdas/<function>/  one deployed function: its handler, adapter and use cases
 *   lambdas/shared/      what the functions share: domain, contracts, state, adapters
 *   lib/, bin/           the CDK app (imports lambdas/shared for names and contracts)
 *   cli/                 the operator CLI (imports lambdas/shared and lib)
 *   local/               the local runner and the Lasso simulator (imports anything above)
 *   bench/, test/        import anything; nothing imports them
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Files that import each other cannot be understood, or moved, one at a time.",
      from: {},
      to: { circular: true },
    },
    {
      name: "functions-stand-alone",
      severity: "error",
      comment:
        "lambdas/ is what is deployed: it imports neither the CDK app, the CLI, the local runner, the benchmarks nor the tests.",
      from: { path: "^lambdas/" },
      to: { path: "^(lib|bin|cli|local|bench|test)/" },
    },
    {
      name: "no-cdk-in-functions",
      severity: "error",
      comment: "CDK is the deploy side; a function's bundle must not carry it.",
      from: { path: "^lambdas/" },
      to: { path: "node_modules/(aws-cdk-lib|constructs|cdk-nag)/" },
    },
    {
      name: "one-function-one-folder",
      severity: "error",
      comment:
        "A function's folder imports itself and lambdas/shared only: what two functions share belongs in shared.",
      from: { path: "^lambdas/([^/]+)/", pathNot: "^lambdas/shared/" },
      to: { path: "^lambdas/", pathNot: ["^lambdas/$1/", "^lambdas/shared/"] },
    },
    {
      name: "shared-below-functions",
      severity: "error",
      comment: "lambdas/shared is below the functions: it never imports one of them.",
      from: { path: "^lambdas/shared/" },
      to: { path: "^lambdas/", pathNot: "^lambdas/shared/" },
    },
    {
      name: "use-cases-without-sdk",
      severity: "error",
      comment:
        "Use cases take their ports as parameters: only a function's handler.ts and lambda.ts build or name AWS SDK clients (adapters live in lambdas/shared).",
      from: { path: "^lambdas/(?!shared/)[^/]+/", pathNot: "/(handler|lambda)\\.ts$" },
      to: { path: "node_modules/@aws-sdk/" },
    },
    {
      name: "cli-not-local",
      severity: "error",
      comment:
        "The CLI targets a deployed stack or a running local pipeline; it never imports the local runner.",
      from: { path: "^cli/" },
      to: { path: "^(local|bench|test)/" },
    },
    {
      name: "cdk-app-not-operators",
      severity: "error",
      comment: "The CDK app imports neither the CLI nor the local runner.",
      from: { path: "^(lib|bin)/" },
      to: { path: "^(cli|local|bench|test)/" },
    },
    {
      name: "nothing-imports-tests",
      severity: "error",
      comment: "Tests and benchmarks stand on top: production code never imports them.",
      from: { pathNot: "^(test|bench)/" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)cdk\\.out/" },
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
    },
  },
};
