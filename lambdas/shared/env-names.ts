/**
 * The names of the functions' environment variables: the CDK stack sets them, the local
 * runner sets them, each function's `config.ts` reads the ones it needs once at cold
 * start (lambdas/shared/env.ts). Secrets are never in the environment, only their ids.
 */
export const ENV = {
  customersTable: "CUSTOMERS_TABLE_NAME",
  stateTable: "STATE_TABLE_NAME",
  /** The schedules table (one flat item per report schedule) and where sync-schedules applies it. */
  schedulesTable: "SCHEDULES_TABLE_NAME",
  /** sync-schedules: the stack's EventBridge Scheduler group that holds the report schedules. */
  scheduleGroup: "SCHEDULE_GROUP_NAME",
  /** sync-schedules: the role the schedules invoke submit-batches with (passed to Scheduler). */
  schedulerRoleArn: "SCHEDULER_ROLE_ARN",
  /** sync-schedules: the schedules' target, and the dead-letter queue of their failed firings. */
  submitFunctionArn: "SUBMIT_FUNCTION_ARN",
  scheduledRunsDlqArn: "SCHEDULED_RUNS_DLQ_ARN",
  reportReadyQueueUrl: "REPORT_READY_QUEUE_URL",
  lassoBaseUrl: "LASSO_BASE_URL",
  lassoApiKeySecretId: "LASSO_API_KEY_SECRET_ID",
  lassoRequestTimeoutMs: "LASSO_REQUEST_TIMEOUT_MS",
  /** Lasso's rate limit, calls a minute per API key (default 500); 0: no budget (local only). */
  lassoCallsPerMinute: "LASSO_CALLS_PER_MINUTE",
  /** The table holding the shared Lasso call budget (runtime/lasso-budget.ts). */
  lassoBudgetTable: "LASSO_BUDGET_TABLE_NAME",
  /** The webhook secret: a random string; its header name is WEBHOOK_HEADER_NAME. */
  webhookSecretId: "WEBHOOK_SECRET_ID",
  webhookHeaderName: "WEBHOOK_HEADER_NAME",
  /** The receive-webhook Function URL, given to Lasso as notificationWebhookUrl. */
  webhookUrl: "WEBHOOK_URL",
  chunkSize: "CHUNK_SIZE",
  stateRetentionDays: "STATE_RETENTION_DAYS",
  stalledAfterMinutes: "STALLED_AFTER_MINUTES",
  /** deliver-report: least time between two item reads of a batch that webhooks cause (ms). */
  ringIntervalMs: "RING_INTERVAL_MS",
  /** deliver-report: receives of one webhook's ring before it is left to the poller. */
  ringMaxReceives: "RING_MAX_RECEIVES",
  /** deliver-report: Lasso look-ups of batches we have no record of, a minute, for all rings. */
  ringLookUpsPerMinute: "RING_LOOKUPS_PER_MINUTE",
  /**
   * poll-batches: how long a finished report of a batch with webhooks is held for its own
   * ring, while the report-ready queue is empty, before the poller sends it (ms;
   * docs/polling.md).
   */
  webhookGraceMs: "WEBHOOK_GRACE_MS",
  /** poll-batches: open batches reconciled at the same time (default 4). */
  pollConcurrency: "POLL_CONCURRENCY",
  mailSender: "MAIL_SENDER",
  /** deliver-report: the firm's mail profile as JSON (mail/profile.ts), validated at cold start. */
  mailProfile: "MAIL_PROFILE",
  defaultLanguage: "DEFAULT_LANGUAGE",
  sesConfigurationSet: "SES_CONFIGURATION_SET",
  /** Comma-separated host patterns (`files.lassox.com`, `*.lassox.com`). */
  pdfAllowedHosts: "PDF_ALLOWED_HOSTS",
  /** Local mode only: lets the simulator's http origin through the PDF fetch. */
  pdfAllowHttp: "PDF_ALLOW_HTTP",
  maxPdfBytes: "MAX_PDF_BYTES",
  /** deliver-report: messages per invocation (the event source's batch size), delivered in parallel. */
  deliveryBatchSize: "DELIVERY_BATCH_SIZE",
  /** Set by Lambda itself: the function's memory in MB. */
  lambdaMemorySize: "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  /** Optional: also accept BasicAuth with this user name and the webhook secret as password. */
  webhookBasicUser: "WEBHOOK_BASIC_USER",
  /** Largest webhook body accepted (bytes; default 64 KiB). */
  webhookMaxBodyBytes: "WEBHOOK_MAX_BODY_BYTES",
  /** PDF download: connect and total time limits (ms). */
  pdfConnectTimeoutMs: "PDF_CONNECT_TIMEOUT_MS",
  pdfTimeoutMs: "PDF_TIMEOUT_MS",
  /** Largest raw MIME message sent through SES (default 40 MB, SES v2's limit). */
  maxMailBytes: "MAX_MAIL_BYTES",
  /** deliver-report: the write-once evidence archive (S3 Object Lock) and how long it keeps a mail. */
  archiveBucket: "ARCHIVE_BUCKET",
  archiveRetentionDays: "ARCHIVE_RETENTION_DAYS",
} as const;
