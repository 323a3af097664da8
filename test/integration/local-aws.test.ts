import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, test } from "vitest";
import { useLocalAws } from "#test/support/local-aws.ts";

// The harness itself: the real SDK v3 clients, configured only by environment variables,
// reach every emulator.
describe("local AWS emulators through the standard SDK environment", () => {
  const localAws = useLocalAws();

  test("DynamoDB (dynalite) stores and conditionally refuses items", async () => {
    const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    await dynamo.send(
      new CreateTableCommand({
        TableName: "probe",
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    await dynamo.send(new PutCommand({ TableName: "probe", Item: { pk: "a", n: 1 } }));
    const again = dynamo.send(
      new PutCommand({
        TableName: "probe",
        Item: { pk: "a", n: 2 },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    await expect(again).rejects.toMatchObject({ name: "ConditionalCheckFailedException" });
    const read = await dynamo.send(new GetCommand({ TableName: "probe", Key: { pk: "a" } }));
    expect(read.Item).toEqual({ pk: "a", n: 1 });
  });

  test("SQS (local-aws-sqs) delivers a message and honours delete", async () => {
    const sqs = new SQSClient({});
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "probe" }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"hello":"world"}' }));
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 1,
        AttributeNames: ["All"],
      }),
    );
    const message = received.Messages?.[0];
    expect(message?.Body).toBe('{"hello":"world"}');
    expect(message?.Attributes?.ApproximateReceiveCount).toBe("1");
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message?.ReceiptHandle }));
    const empty = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }),
    );
    expect(empty.Messages ?? []).toHaveLength(0);
  });

  test("SES v2 (aws-ses-v2-local) records a raw message in its store", async () => {
    const ses = new SESv2Client({});
    const raw = [
      "From: sender@example.dk",
      "To: recipient@example.dk",
      "Subject: Probe",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "Hej",
    ].join("\r\n");
    const sent = await ses.send(
      new SendEmailCommand({ Content: { Raw: { Data: new TextEncoder().encode(raw) } } }),
    );
    expect(sent.MessageId).toBeTruthy();
    const store = (await (await fetch(`${localAws.current.endpoints.ses}/store`)).json()) as {
      emails: { messageId: string; subject: string }[];
    };
    expect(store.emails.find((mail) => mail.messageId === sent.MessageId)?.subject).toBe("Probe");
  });

  test("Secrets Manager emulator keeps the current and the previous value", async () => {
    const secrets = new SecretsManagerClient({});
    await secrets.send(new CreateSecretCommand({ Name: "webhook", SecretString: "first" }));
    await secrets.send(new PutSecretValueCommand({ SecretId: "webhook", SecretString: "second" }));
    const current = await secrets.send(new GetSecretValueCommand({ SecretId: "webhook" }));
    const previous = await secrets.send(
      new GetSecretValueCommand({ SecretId: "webhook", VersionStage: "AWSPREVIOUS" }),
    );
    expect([current.SecretString, previous.SecretString]).toEqual(["second", "first"]);
    await expect(secrets.send(new GetSecretValueCommand({ SecretId: "missing" }))).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });
});
