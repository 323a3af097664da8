/**
 * What AWS actions a function's code can call: its entry bundled with esbuild (project
 * code tree-shaken, packages left out), the SDK commands it constructs mapped to IAM.
 */
import * as path from "node:path";
import * as esbuild from "esbuild";
import { PROJECT_ROOT } from "#lib/constructs/report-function.ts";

/** SDK v3 commands (and paginators) to the IAM action they need. */
const ACTION_OF: Record<string, string | string[]> = {
  GetCommand: "dynamodb:GetItem",
  GetItemCommand: "dynamodb:GetItem",
  PutCommand: "dynamodb:PutItem",
  PutItemCommand: "dynamodb:PutItem",
  UpdateCommand: "dynamodb:UpdateItem",
  UpdateItemCommand: "dynamodb:UpdateItem",
  DeleteCommand: "dynamodb:DeleteItem",
  DeleteItemCommand: "dynamodb:DeleteItem",
  QueryCommand: "dynamodb:Query",
  paginateQuery: "dynamodb:Query",
  ScanCommand: "dynamodb:Scan",
  paginateScan: "dynamodb:Scan",
  BatchGetCommand: "dynamodb:BatchGetItem",
  BatchWriteCommand: "dynamodb:BatchWriteItem",
  TransactWriteCommand: "dynamodb:TransactWriteItems",
  SendMessageCommand: "sqs:SendMessage",
  SendMessageBatchCommand: "sqs:SendMessage",
  ChangeMessageVisibilityCommand: "sqs:ChangeMessageVisibility",
  GetQueueAttributesCommand: "sqs:GetQueueAttributes",
  // SESv2 SendEmail is authorised as ses:SendRawEmail when its content is raw MIME.
  SendEmailCommand: ["ses:SendEmail", "ses:SendRawEmail"],
  SendRawEmailCommand: "ses:SendRawEmail",
  PutObjectCommand: "s3:PutObject",
  // Powertools' SecretsProvider, behind lambdas/shared/secrets.ts.
  cachedSecret: "secretsmanager:GetSecretValue",
  rotatingSecret: "secretsmanager:GetSecretValue",
  GetSecretValueCommand: "secretsmanager:GetSecretValue",
  GetScheduleCommand: "scheduler:GetSchedule",
  CreateScheduleCommand: "scheduler:CreateSchedule",
  UpdateScheduleCommand: "scheduler:UpdateSchedule",
  DeleteScheduleCommand: "scheduler:DeleteSchedule",
  paginateListSchedules: "scheduler:ListSchedules",
};

export async function actionsCalledBy(folder: string): Promise<string[]> {
  const result = await esbuild.build({
    entryPoints: [path.join(PROJECT_ROOT, "lambdas", folder, "handler.ts")],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    packages: "external",
    treeShaking: true,
    logLevel: "silent",
  });
  const code = result.outputFiles.map((file) => file.text).join("\n");
  const actions = new Set<string>();
  for (const match of code.matchAll(
    /\bnew (\w+?Command)\d*\(|\b(paginate[A-Za-z]+|cachedSecret|rotatingSecret)\d*\(/g,
  )) {
    // esbuild renames a binding that collides with another module's (GetCommand2): the
    // regular expression leaves the digits out.
    const name = match[1] ?? match[2] ?? "";
    const action = ACTION_OF[name];
    if (action) for (const one of [action].flat()) actions.add(one);
    else if (/^(paginate|\w+Command$)/.test(name))
      throw new Error(`${folder}: no IAM action known for ${name}`);
  }
  return [...actions].sort();
}
