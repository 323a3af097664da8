/**
 * The evidence archive's port and its S3 adapter: write-once objects in a bucket with
 * S3 Object Lock (retention set by the bucket's default, lib/stateful-stack.ts), so an
 * archived mail can be neither changed nor deleted before its retention ends.
 */
import { createHash } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

export interface EvidenceObject {
  key: string;
  body: Uint8Array;
  contentType: string;
}

export type PutEvidence = (object: EvidenceObject) => Promise<void>;

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** An archive write that failed: the delivery is retried, no mail has gone out. */
export class ArchiveWriteError extends Error {
  override readonly name = "ArchiveWriteError";
}

export function s3EvidenceArchive(s3: S3Client, bucket: string): PutEvidence {
  return async (object) => {
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: object.key,
          Body: object.body,
          ContentType: object.contentType,
          // S3 checks the bytes it stores against this; Object Lock needs an integrity check.
          ChecksumAlgorithm: "SHA256",
          // Write-once per key: an id collision must fail, never replace evidence.
          IfNoneMatch: "*",
        }),
      );
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new ArchiveWriteError(`archive write of ${object.key} failed: ${reason}`, { cause: error });
    }
  };
}
