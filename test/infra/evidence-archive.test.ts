/**
 * The evidence archive as deployed (lib/constructs/evidence-archive.ts): write-once by
 * Object Lock with the configured retention, versioned, KMS-encrypted, private, TLS only,
 * never deleted, retained; deliver-report the only function that may write to it.
 */
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { deployConfig } from "#lib/config/deploy-config.ts";
import { resourcesOf, type SynthesizedApp, synthesize } from "./synth.ts";

let app: SynthesizedApp;
let governed: SynthesizedApp;

beforeAll(() => {
  app = synthesize(deployConfig);
  governed = synthesize({
    ...deployConfig,
    archive: { retentionMode: "GOVERNANCE", retentionDays: 30, coldAfterDays: 45 },
  });
}, 240_000);

const bucketOf = (synthesized: SynthesizedApp) =>
  synthesized.statefulTemplate.toJSON().Resources[synthesized.logicalId(synthesized.stateful.archive.bucket)];

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown };

function statementsOf(synthesized: SynthesizedApp, type: string): Statement[] {
  const template =
    type === "AWS::S3::BucketPolicy" ? synthesized.statefulTemplate : synthesized.statelessTemplate;
  return Object.values(resourcesOf(template, type)).flatMap(
    (resource) => (resource.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
  );
}

describe("the evidence archive bucket", () => {
  it("is write-once: Object Lock in COMPLIANCE mode for 5 years by default, versioned, retained", () => {
    const bucket = bucketOf(app);
    // Kept on deletion and replacement; a failed first deploy (nothing in it) removes it.
    expect(bucket.DeletionPolicy).toBe("RetainExceptOnCreate");
    expect(bucket.UpdateReplacePolicy).toBe("Retain");
    expect(bucket.Properties.ObjectLockEnabled).toBe(true);
    expect(bucket.Properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: "Enabled",
      Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 1827 } },
    });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
  });

  it("takes its retention mode, period and cold-storage age from the deploy config", () => {
    const bucket = bucketOf(governed);
    expect(bucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({
      Mode: "GOVERNANCE",
      Days: 30,
    });
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({
        Status: "Enabled",
        Transitions: [{ StorageClass: "GLACIER_IR", TransitionInDays: 45 }],
      }),
    ]);
    const deliver =
      governed.statelessTemplate.toJSON().Resources[governed.logicalId(governed.stateless.deliverReport)];
    expect(deliver.Properties.Environment.Variables.ARCHIVE_RETENTION_DAYS).toBe("30");
  });

  it("is encrypted with its own rotated KMS key, private, and logs who reads it", () => {
    const bucket = bucketOf(app);
    const keyId = app.logicalId(app.stateful.archive.key);
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      {
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: {
          SSEAlgorithm: "aws:kms",
          KMSMasterKeyID: { "Fn::GetAtt": [keyId, "Arn"] },
        },
      },
    ]);
    const key = app.statefulTemplate.toJSON().Resources[keyId];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe("RetainExceptOnCreate");
    // Object Lock keeps the bytes; the key that decrypts them cannot be disabled or deleted.
    expect(key.Properties.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: ["kms:DisableKey", "kms:ScheduleKeyDeletion"],
        }),
      ]),
    );
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.LoggingConfiguration.DestinationBucketName).toBeDefined();
  });

  it("refuses requests without TLS and every deletion, for every principal, also after the stack", () => {
    const policies = Object.values(resourcesOf(app.statefulTemplate, "AWS::S3::BucketPolicy"));
    const archivePolicy = policies.find(
      (policy) =>
        JSON.stringify(policy.Properties.Bucket) ===
        JSON.stringify({ Ref: app.logicalId(app.stateful.archive.bucket) }),
    );
    expect(archivePolicy?.DeletionPolicy).toBe("RetainExceptOnCreate");
    const statements = statementsOf(app, "AWS::S3::BucketPolicy");
    const denies = statements.filter((statement) => statement.Effect === "Deny");
    expect(denies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: "s3:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
          Principal: { AWS: "*" },
        }),
        expect.objectContaining({
          Sid: "EvidenceIsWrittenOnce",
          Action: "s3:PutObject",
          Condition: { Null: { "s3:if-none-match": "true" } },
          Principal: { AWS: "*" },
        }),
        expect.objectContaining({
          Sid: "EvidenceIsNeverDeleted",
          Action: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
          Principal: { AWS: "*" },
        }),
      ]),
    );
    expect(
      statements.filter(
        (statement) =>
          statement.Effect === "Allow" && [statement.Action].flat().some((a) => a.startsWith("s3:Delete")),
      ),
    ).toEqual([]);
  });

  it("the access-log bucket (no Object Lock: log delivery refuses it) refuses every deletion by policy, also after the stack", () => {
    const accessLogs = app.stateful.archive.node.findChild("AccessLogs") as s3.Bucket;
    const policy = Object.values(resourcesOf(app.statefulTemplate, "AWS::S3::BucketPolicy")).find(
      (candidate) =>
        JSON.stringify(candidate.Properties.Bucket) === JSON.stringify({ Ref: app.logicalId(accessLogs) }),
    );
    expect(policy?.DeletionPolicy).toBe("RetainExceptOnCreate");
    const statements = (policy?.Properties.PolicyDocument as { Statement: Statement[] } | undefined)
      ?.Statement;
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: "AccessLogsAreNeverDeleted",
          Effect: "Deny",
          Action: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
          Principal: { AWS: "*" },
        }),
      ]),
    );
  });

  it("only deliver-report may write to it, only PutObject, only under customers/; no role may delete", () => {
    const writers: string[] = [];
    const policies = resourcesOf(app.statelessTemplate, "AWS::IAM::Policy");
    for (const policy of Object.values(policies)) {
      for (const statement of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        const actions = [statement.Action].flat();
        expect(
          actions.filter((action) => /^s3:(\*|Delete|PutObjectRetention|PutBucket)/.test(action)),
        ).toEqual([]);
        if (actions.some((action) => action.startsWith("s3:"))) {
          expect(actions).toEqual(["s3:PutObject"]);
          expect(app.render(statement.Resource)).toMatch(
            /-evidence-\$\{AWS::AccountId\}-\$\{AWS::Region\}\/customers\/\*$/,
          );
          writers.push(...(policy.Properties.Roles as { Ref: string }[]).map((role) => role.Ref));
        }
      }
    }
    const deliverRole = app.logicalId(app.stateless.deliverReport.role as IConstruct);
    expect(writers).toEqual([deliverRole]);
  });
});
