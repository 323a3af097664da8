/**
 * cdk-nag's AwsSolutions checks run at every synth (bin/app.ts, test/infra): a finding
 * fails the synth unless it is acknowledged here, on the construct it is about, with a
 * specific reason.
 */
import { type CfnResource, Stack, Validations } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type { IConstruct } from "constructs";

/** The validation plugin's name: acknowledgement ids are `<plugin>::<rule>`. */
const PLUGIN = "AwsSolutions";

export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `${PLUGIN}::${rule}`, reason });
}

/**
 * `grantInvoke` (used by the scheduler's Lambda target) allows the function's ARN and
 * `<arn>:*`, its versions and aliases. That one finding is acknowledged, per function, on
 * the stack that holds the role CDK creates for the target.
 */
export function acknowledgeInvokeOfVersions(stack: Stack, fn: lambda.Function, who: string): void {
  const logicalId = Stack.of(fn).resolve((fn.node.defaultChild as CfnResource).logicalId) as string;
  acknowledge(
    stack,
    `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
    `${who} may invoke only this function; ':*' is how grantInvoke covers its versions and aliases.`,
  );
}
