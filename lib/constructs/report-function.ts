/**
 * The one place that holds every function's defaults: Node.js 24 on ARM64, an ESM bundle
 * with the AWS SDK inside (module-first main fields, the createRequire banner that
 * CommonJS dependencies need in ESM), minified with source maps, its own log group with
 * a retention, Powertools settings, and a role that starts with nothing but writing to
 * that log group. Each function's stack code adds exactly the permissions it uses.
 */

import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { type Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { METRICS_NAMESPACE } from "#shared/runtime/metrics.ts";

/** The repository root: entries, lock file and tsconfig are resolved from here. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** How every function is bundled and started; bench/bundles.bench.ts bundles with the same. */
export const LAMBDA_BUNDLING = {
  target: "node24",
  // ESM output cannot `require`; bundled CommonJS dependencies (parts of the SDK) still do.
  banner:
    "import { createRequire as __lassoCreateRequire } from 'node:module'; const require = __lassoCreateRequire(import.meta.url);",
  // Stack traces point at the TypeScript sources.
  nodeOptions: "--enable-source-maps",
} as const;

export interface ReportFunctionProps {
  /** The function's folder under lambdas/, e.g. "deliver-report"; the entry is its handler.ts. */
  folder: string;
  description: string;
  timeout: Duration;
  memorySize?: number;
  /** Its own settings (names from lambdas/shared/env-names.ts); Powertools' are added. */
  environment: Record<string, string>;
  logRetention: logs.RetentionDays;
  /** Files copied into the bundle at synth (absolute source → name beside the handler). */
  bundleFiles?: readonly { from: string; to: string }[];
}

/** A shell word: the path in single quotes. */
const quoted = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;

export class ReportFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ReportFunctionProps) {
    // Created beside the function (a subclass cannot create children before super()).
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.folder}: only what the function uses`,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this group only.
    logGroup.grantWrite(role);

    super(scope, id, {
      entry: path.join(PROJECT_ROOT, "lambdas", props.folder, "handler.ts"),
      handler: "handler",
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role,
      logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, "package-lock.json"),
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.folder,
        // One metrics namespace for the pipeline; the service is the function's folder name.
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: "INFO",
        NODE_OPTIONS: LAMBDA_BUNDLING.nodeOptions,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: LAMBDA_BUNDLING.target,
        platform: "node",
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        mainFields: ["module", "main"],
        banner: LAMBDA_BUNDLING.banner,
        // The SDK is bundled: a pinned, tested version instead of whatever the runtime has.
        bundleAwsSDK: true,
        externalModules: [],
        forceDockerBundling: false,
        ...(props.bundleFiles === undefined || props.bundleFiles.length === 0
          ? {}
          : {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) =>
                  (props.bundleFiles ?? []).map(
                    (file) => `cp ${quoted(file.from)} ${quoted(path.join(outputDir, file.to))}`,
                  ),
              },
            }),
      },
    });
  }
}
