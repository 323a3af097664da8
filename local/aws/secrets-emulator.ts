/**
 * A minimal AWS Secrets Manager emulator (JSON 1.1 protocol) for local mode: none of
 * the emulators we use covers Secrets Manager, and production code reads its secrets
 * through the real SDK client. It implements exactly what the pipeline uses:
 * CreateSecret, GetSecretValue (AWSCURRENT and AWSPREVIOUS stages), PutSecretValue
 * (which moves the current value to AWSPREVIOUS, as a rotation does).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

interface SecretVersion {
  versionId: string;
  value: string;
  createdAt: Date;
}

interface StoredSecret {
  name: string;
  arn: string;
  current: SecretVersion;
  previous?: SecretVersion;
}

type Handler = (body: Record<string, unknown>) => Record<string, unknown>;

class SecretsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export function createSecretsEmulator(region = "eu-central-1", accountId = "000000000000"): Server {
  return serveJson11(secretActions(region, accountId));
}

/** The three actions over one in-memory secret store. */
function secretActions(region: string, accountId: string): Record<string, Handler> {
  const secrets = new Map<string, StoredSecret>();

  const find = (id: unknown): StoredSecret => {
    const key = String(id ?? "");
    const secret = secrets.get(key) ?? [...secrets.values()].find((s) => s.arn === key);
    if (!secret)
      throw new SecretsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return secret;
  };

  return {
    CreateSecret: (body) => {
      const name = String(body.Name ?? "");
      if (!name) throw new SecretsError("InvalidParameterException", "Name is required.");
      if (secrets.has(name))
        throw new SecretsError("ResourceExistsException", `The secret ${name} already exists.`);
      const arn = `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${randomUUID().slice(0, 6)}`;
      const secret: StoredSecret = { name, arn, current: newVersion(body.SecretString) };
      secrets.set(name, secret);
      return { ARN: arn, Name: name, VersionId: secret.current.versionId };
    },
    PutSecretValue: (body) => {
      const secret = find(body.SecretId);
      secret.previous = secret.current;
      secret.current = newVersion(body.SecretString);
      return { ARN: secret.arn, Name: secret.name, VersionId: secret.current.versionId };
    },
    GetSecretValue: (body) => secretValue(find(body.SecretId), String(body.VersionStage ?? "AWSCURRENT")),
  };
}

function newVersion(value: unknown): SecretVersion {
  if (typeof value !== "string")
    throw new SecretsError("InvalidParameterException", "SecretString is required.");
  return { versionId: randomUUID(), value, createdAt: new Date() };
}

function secretValue(secret: StoredSecret, stage: string): Record<string, unknown> {
  const chosen =
    stage === "AWSPREVIOUS" ? secret.previous : stage === "AWSCURRENT" ? secret.current : undefined;
  if (!chosen) {
    throw new SecretsError(
      "ResourceNotFoundException",
      `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
    );
  }
  return {
    ARN: secret.arn,
    Name: secret.name,
    SecretString: chosen.value,
    VersionId: chosen.versionId,
    VersionStages: [stage],
    CreatedDate: chosen.createdAt.getTime() / 1000,
  };
}

/** The JSON 1.1 protocol: the action in `x-amz-target`, errors as `__type` with status 400. */
function serveJson11(handlers: Record<string, Handler>): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const action = target.replace(/^secretsmanager\./, "");
      const reply = (status: number, payload: Record<string, unknown>): void => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(payload));
      };
      try {
        const handler = handlers[action];
        if (!handler)
          throw new SecretsError("InvalidAction", `Action ${action || "(none)"} is not supported locally.`);
        const text = Buffer.concat(chunks).toString("utf8");
        const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
        reply(200, handler(body));
      } catch (error) {
        const type = error instanceof SecretsError ? error.type : "InternalServiceError";
        const message = error instanceof Error ? error.message : String(error);
        reply(400, { __type: type, message });
      }
    });
  });
}
