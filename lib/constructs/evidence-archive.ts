/**
 * The evidence archive (docs/evidence.md): one S3 bucket, write-once by S3 Object Lock,
 * where deliver-report puts every mail it sends, its PDF and its delivery record.
 *
 * - Object Lock with a default retention (mode and days from the deploy config, COMPLIANCE
 *   and 5 years by default): no object version can be deleted or overwritten before then,
 *   by anyone. Versioning is on (Object Lock requires it).
 * - Encrypted with a customer-managed KMS key (rotated yearly), bucket keys on.
 * - Public access blocked; a policy refuses any request without TLS and any deletion.
 * - Lifecycle: objects move to Glacier Instant Retrieval after `coldAfterDays` (still
 *   readable in milliseconds for an auditor's question).
 * - Server access logs to a separate bucket: who read the evidence is evidence too.
 * - Retained when the stack is deleted.
 */
import { Aws, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct, type IConstruct } from "constructs";
import type { DeployConfig } from "../config/schema.ts";
import { acknowledge } from "../nag.ts";

/** The key prefix of every delivery's evidence (lambdas/shared/state/delivery-history.ts). */
export const ARCHIVE_KEY_PREFIX = "customers/";

/**
 * The bucket's name, fixed by the deployment: an auditor's tools and the retained bucket
 * keep one name, and the stateless stack grants on it without a cross-stack reference.
 */
export const archiveBucketName = (stackName: string): string =>
  `${stackName.toLowerCase()}-evidence-${Aws.ACCOUNT_ID}-${Aws.REGION}`;

/** PutObject on the evidence keys of the archive named `bucketName`. */
export function grantArchiveWrite(
  grantee: iam.IGrantable & IConstruct,
  bucketName: string,
  key: kms.IKey,
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ["s3:PutObject"],
      resources: [`arn:${Aws.PARTITION}:s3:::${bucketName}/${ARCHIVE_KEY_PREFIX}*`],
    }),
  );
  // SSE-KMS: S3 asks KMS for a data key on the writer's behalf.
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ["kms:GenerateDataKey"], resources: [key.keyArn] }),
  );
  acknowledge(
    Stack.of(grantee),
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucketName.replace(Aws.ACCOUNT_ID, "<AWS::AccountId>").replace(Aws.REGION, "<AWS::Region>")}/${ARCHIVE_KEY_PREFIX}*]`,
    "deliver-report writes a new object per delivery under customers/ (keys made at run time); PutObject only, and Object Lock makes every object write-once.",
  );
}

export class EvidenceArchive extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: { archive: DeployConfig["archive"]; bucketName: string }) {
    super(scope, id);
    const { archive } = props;

    this.key = new kms.Key(this, "Key", {
      description: "Encrypts the evidence archive (every mail sent, its PDF and delivery record)",
      enableKeyRotation: true,
      // Kept when the stack is deleted or the key replaced; a failed first deploy removes it.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    // Object Lock keeps the bytes; a deleted or disabled key would make them unreadable.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "EvidenceKeyIsNeverDisabledOrDeleted",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["kms:ScheduleKeyDeletion", "kms:DisableKey"],
        resources: ["*"],
      }),
    );

    const accessLogs = new s3.Bucket(this, "AccessLogs", {
      // Server access log delivery supports SSE-S3 only.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(archive.retentionDays) }],
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    // S3 log delivery refuses a bucket with Object Lock retention, so the read record is
    // kept by policy: nobody deletes a log object (the lifecycle's expiry is not a request).
    accessLogs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "AccessLogsAreNeverDeleted",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        resources: [accessLogs.arnForObjects("*")],
      }),
    );
    accessLogs.policy?.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    acknowledge(
      accessLogs,
      "AwsSolutions-S1",
      "This bucket receives the evidence archive's server access logs; logging the log bucket itself would only recurse.",
    );

    const retention =
      archive.retentionMode === "COMPLIANCE"
        ? s3.ObjectLockRetention.compliance(Duration.days(archive.retentionDays))
        : s3.ObjectLockRetention.governance(Duration.days(archive.retentionDays));
    this.bucket = new s3.Bucket(this, "Bucket", {
      bucketName: props.bucketName,
      objectLockEnabled: true,
      objectLockDefaultRetention: retention,
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: "archive/",
      lifecycleRules: [
        {
          transitions: [
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(archive.coldAfterDays),
            },
          ],
        },
      ],
      // Kept when the stack is deleted; a failed first deploy removes it (it holds nothing yet),
      // so the fixed name is free for the next attempt.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    // Nobody deletes evidence: Object Lock already refuses it during the retention; this
    // refuses it for every principal, even after (a delete marker would hide it too).
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "EvidenceIsNeverDeleted",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:DeleteObject", "s3:DeleteObjectVersion"],
        resources: [this.bucket.arnForObjects("*")],
      }),
    );
    // Write-once per key, enforced here rather than trusted to the writer: a PutObject
    // without If-None-Match (which could add a newer version over an archived mail) is refused.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "EvidenceIsWrittenOnce",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["s3:PutObject"],
        resources: [this.bucket.arnForObjects("*")],
        conditions: { Null: { "s3:if-none-match": "true" } },
      }),
    );
    // The policy stays with the retained bucket: TLS only and no deletion, after the stack too.
    this.bucket.policy?.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
  }
}
