/**
 * Integration-test harness: starts the local AWS emulators on ephemeral loopback ports for
 * one test file and points the AWS SDK at them through the process environment (each
 * integration test file runs in its own process). Create SDK clients after `beforeAll`.
 */
import { afterAll, beforeAll } from "vitest";
import { type LocalAws, startLocalAws } from "#local/aws/local-aws.ts";

export interface LocalAwsHandle {
  readonly current: LocalAws;
}

export function useLocalAws(): LocalAwsHandle {
  let localAws: LocalAws | undefined;
  const saved = new Map<string, string | undefined>();

  beforeAll(async () => {
    localAws = await startLocalAws();
    for (const [name, value] of Object.entries(localAws.env)) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
  });

  afterAll(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await localAws?.stop();
  });

  return {
    get current(): LocalAws {
      if (!localAws) throw new Error("local AWS is not started yet: use it inside a test or hook");
      return localAws;
    },
  };
}
