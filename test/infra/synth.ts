/**
 * Infra-test support: builds the CDK app as `cdk synth` does (same cdk.json context,
 * same buildApp, cdk-nag attached) and renders CloudFormation intrinsics as readable
 * strings, so tests can state exact permissions and settings without logical-id noise.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { type CfnResource, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { buildApp, type ReportsApp } from "#lib/app.ts";
import { PROJECT_ROOT } from "#lib/constructs/report-function.ts";

export interface SynthesizedApp extends ReportsApp {
  statefulTemplate: Template;
  statelessTemplate: Template;
  /** Renders an intrinsic of the stateless stack as a string (cross-stack reads resolved). */
  render(value: unknown): string;
  /** The logical id of a construct's CloudFormation resource. */
  logicalId(construct: IConstruct): string;
}

export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export function synthesize(config: unknown): SynthesizedApp {
  const built = buildApp(config, { context: cdkJsonContext() });
  // Synthesizing runs the validation plugins: any unacknowledged cdk-nag finding throws here.
  const statefulTemplate = Template.fromStack(built.stateful);
  const statelessTemplate = Template.fromStack(built.stateless);
  const statefulOutputs = statefulTemplate.toJSON().Outputs as Record<string, { Value: unknown }>;

  const render = (value: unknown): string => {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      return String(value);
    }
    if (Array.isArray(value)) return `[${value.map(render).join(", ")}]`;
    if (value && typeof value === "object") {
      const [[fn, args]] = Object.entries(value) as [[string, unknown]];
      switch (fn) {
        case "Ref":
          return `\${${String(args)}}`;
        case "Fn::GetAtt": {
          const [id, attribute] = args as [string, string];
          return `\${${id}.${attribute}}`;
        }
        case "Fn::Join": {
          const [separator, parts] = args as [string, unknown[]];
          return parts.map(render).join(separator);
        }
        case "Fn::Select": {
          const [index, list] = args as [number, unknown];
          return `select(${index}, ${render(list)})`;
        }
        case "Fn::Split": {
          const [separator, source] = args as [string, unknown];
          return `split(${separator}, ${render(source)})`;
        }
        case "Fn::GetStackOutput": {
          const { OutputName } = args as { OutputName: string };
          const output = statefulOutputs[OutputName];
          if (!output) throw new Error(`no stateful output ${OutputName}`);
          return render(output.Value);
        }
      }
      throw new Error(`cannot render ${JSON.stringify(value)}`);
    }
    throw new Error(`cannot render ${String(value)}`);
  };

  const logicalId = (construct: IConstruct): string => {
    const resource = (construct.node.defaultChild ?? construct) as CfnResource;
    return Stack.of(resource).resolve(resource.logicalId) as string;
  };

  return { ...built, statefulTemplate, statelessTemplate, render, logicalId };
}

export type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown> } & Record<string, unknown>
>;

export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}
