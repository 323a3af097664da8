/**
 * Builds the whole CDK app from a deploy config: validation first (a bad config fails
 * synth with the field's name), then the stateful and the stateless stack, then
 * cdk-nag's AwsSolutions checks as a validation plugin. bin/app.ts and the infra tests
 * build the app the same way.
 */
import { App, type AppProps, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { type DeployConfig, parseDeployConfig } from "./config/schema.ts";
import { StatefulStack } from "./stateful-stack.ts";
import { StatelessStack } from "./stateless-stack.ts";

export interface ReportsApp {
  app: App;
  config: DeployConfig;
  stateful: StatefulStack;
  stateless: StatelessStack;
}

export function buildApp(configInput: unknown, appProps: AppProps = {}): ReportsApp {
  const config = parseDeployConfig(configInput);
  const app = new App(appProps);
  // Every taggable resource, except dashboards: the stacks are region-agnostic, and some
  // regions' CloudFormation schema refuses Tags on AWS::CloudWatch::Dashboard (cfn-lint
  // finds it for us-east-1; .ci/run lints the templates against several regions).
  Tags.of(app).add("application", config.stackName, {
    excludeResourceTypes: ["AWS::CloudWatch::Dashboard"],
  });

  // Environment-agnostic stacks: synth needs no credentials and no lookups; the account and
  // region come from the CLI's profile at deploy time.
  const stateful = new StatefulStack(app, `${config.stackName}-Stateful`, {
    description: "Lasso reports: tables, queues and secrets (data that outlives a redeploy)",
    config,
  });
  const stateless = new StatelessStack(app, `${config.stackName}-Stateless`, {
    description: "Lasso reports: functions, schedules, SES, dashboard and alarms",
    config,
    stateful,
  });

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, stateful, stateless };
}
