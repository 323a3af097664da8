/**
 * S3 for the node backend: s3rver (the maintained @20minutes fork), storing objects in a
 * fresh temporary directory that is removed on stop. It does not enforce Object Lock; the
 * deployed bucket does (lib/stateful-stack.ts), and moto's S3 checks the lock settings.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

// CommonJS, and a Koa subclass: `require` gives the class itself.
const require = createRequire(import.meta.url);
const S3rver = require("@20minutes/s3rver") as new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  allowMismatchedSignatures: boolean;
}) => { run(): Promise<{ port: number }>; close(): Promise<void> };

// s3rver knows one key pair (S3RVER); local mode's dummy credentials are registered beside it.
const accounts = require("@20minutes/s3rver/lib/models/account.js") as {
  DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
};

export async function startS3Emulator(
  port: number,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<{ url: string; stop(): Promise<void> }> {
  accounts.DUMMY_ACCOUNT.createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  const directory = await mkdtemp(join(tmpdir(), "lasso-reports-s3-"));
  const server = new S3rver({
    address: "127.0.0.1",
    port,
    directory,
    silent: true,
    allowMismatchedSignatures: true,
  });
  try {
    const address = await server.run();
    return {
      url: `http://127.0.0.1:${address.port}`,
      stop: async () => {
        await server.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}
