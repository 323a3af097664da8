import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, test } from "vitest";
import { readQueueDepth } from "#shared/queue-depth.ts";
import { useLocalAws } from "#test/support/local-aws.ts";

// The harness itself: the real SDK v3 clients, configured only by environment variables,
// reach every service of the backend in use (LOCAL_AWS_BACKEND: `npm test` runs this on
// the node emulators, `npm run test:conformance` on moto, with the same expectations:
// what AWS documents).
describe("local AWS through the standard SDK environment", () => {
  const localAws = useLocalAws();

  const receiveOne = async (sqs: SQSClient, QueueUrl: string) => {
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, AttributeNames: ["All"] }),
    );
    return received.Messages?.[0];
  };

  test("DynamoDB stores and conditionally refuses items", async () => {
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

  test("SQS delivers a message and honours delete", async () => {
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

  test("queue depth has SQS's meaning: send 3, receive 1, defer 1 is 2 visible + 1 in flight", async () => {
    const sqs = new SQSClient({});
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "depth-probe" }));
    const queueUrl = QueueUrl as string;
    for (const body of ["a", "b", "c"])
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    expect(await readQueueDepth(sqs, queueUrl)).toEqual({ visible: 3, inFlight: 0, delayed: 0, total: 3 });
    const message = await receiveOne(sqs, queueUrl);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 60,
      }),
    );
    expect(await readQueueDepth(sqs, queueUrl)).toEqual({ visible: 2, inFlight: 1, delayed: 0, total: 3 });
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "later", DelaySeconds: 60 }));
    expect(await readQueueDepth(sqs, queueUrl)).toEqual({ visible: 2, inFlight: 1, delayed: 1, total: 4 });
  });

  test("a deferral (ChangeMessageVisibility) is not a receive: the count and the redrive see receives only", async () => {
    const sqs = new SQSClient({});
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: "defer-probe-dlq" }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
    );
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: "defer-probe",
        Attributes: {
          VisibilityTimeout: "30",
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 2 }),
        },
      }),
    );
    const queueUrl = QueueUrl as string;
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "deferred" }));
    const counts: string[] = [];
    // Received, then deferred twice and made visible again: two receives, three changes.
    for (let receive = 0; receive < 2; receive++) {
      const message = await receiveOne(sqs, queueUrl);
      counts.push(message?.Attributes?.ApproximateReceiveCount ?? "none");
      for (const timeout of [20, 10]) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl,
            ReceiptHandle: message?.ReceiptHandle,
            VisibilityTimeout: timeout,
          }),
        );
      }
      if (receive === 0) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl,
            ReceiptHandle: message?.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
    expect(counts).toEqual(["1", "2"]);
    expect(await readQueueDepth(sqs, dlq.QueueUrl as string)).toMatchObject({ total: 0 });
    expect(await readQueueDepth(sqs, queueUrl)).toEqual({ visible: 0, inFlight: 1, delayed: 0, total: 1 });
  });

  test("SES v2 records a raw message from a verified sender", async () => {
    await localAws.current.verifySender("sender@example.dk");
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
    const mails = await localAws.current.sentMails.read();
    expect(mails.find((mail) => mail.messageId === sent.MessageId)).toMatchObject({
      subject: "Probe",
      from: "sender@example.dk",
      destination: { to: ["recipient@example.dk"], cc: [], bcc: [] },
      body: { text: "Hej" },
    });
    await localAws.current.sentMails.clear();
    expect(await localAws.current.sentMails.read()).toEqual([]);
  });

  test("Secrets Manager keeps the current and the previous value", async () => {
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
