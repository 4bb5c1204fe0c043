# The catch-all: every GuardDuty finding no enabled playbook's rule takes lands here, and the
# `unhandled` function records it in the ledger (skipped, unhandled) and tells people once. Its
# role reaches the ledger, the topic, its own queue and its own logs: nothing else, and nothing
# in the account it could read or change.

locals {
  tags = merge(var.tags, { "firebreak:component" = "catch-all" })

  log_group_name = "/aws/lambda/${var.name}"

  # The queue's own ARN, for the Resource of its inline policy (a resource cannot refer to its
  # own attributes). SQS ARNs are always arn:<partition>:sqs:<region>:<account>:<name>.
  queue_arn = "arn:${var.partition}:sqs:${var.region}:${var.account_id}:${var.name}"
}

################################################################################
# Rule -> queue
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  name           = var.name
  description    = "Firebreak: GuardDuty findings no enabled playbook takes (other resource types, disabled playbooks, new finding types), recorded as unhandled."
  event_bus_name = var.event_bus_name
  event_pattern  = var.event_pattern

  tags = local.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule           = aws_cloudwatch_event_rule.this.name
  event_bus_name = var.event_bus_name
  target_id      = "queue"
  arn            = aws_sqs_queue.this.arn
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum: time for a human to look
  kms_master_key_id         = var.firebreak_kms_key_arn
  sqs_managed_sse_enabled   = var.firebreak_kms_key_arn == null ? true : null

  tags = local.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  visibility_timeout_seconds = var.visibility_timeout_seconds
  # Like the playbooks' queues: the customer-managed key when there is one, else SSE-SQS.
  kms_master_key_id       = var.firebreak_kms_key_arn
  sqs_managed_sse_enabled = var.firebreak_kms_key_arn == null ? true : null

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  # Inline (one settling wait less, hashicorp/terraform-provider-aws#27393). Only the rule sends:
  # the function never re-queues (it has nothing to wait for), so every other sender is denied.
  # A principal's request carries no aws:SourceArn, and a missing key satisfies ArnNotEquals.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowOnlyTheCatchAllRule"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.queue_arn
        Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.this.arn } }
      },
      {
        Sid       = "DenyEveryOtherSender"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:SendMessage"
        Resource  = local.queue_arn
        Condition = { ArnNotEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.this.arn } }
      },
    ]
  })

  tags = local.tags
}

################################################################################
# Function
################################################################################

resource "aws_iam_role" "this" {
  name        = var.name
  description = "Firebreak unhandled-findings function: records and notifies, changes nothing"
  # The ceiling of every Firebreak role (terraform/boundary.tf).
  permissions_boundary = var.permissions_boundary_arn
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = local.tags
}

resource "aws_iam_role_policy" "this" {
  name = "firebreak-unhandled"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          # recordIgnored and recordNotification update the finding's record; recordRejected puts one.
          Sid      = "Ledger"
          Effect   = "Allow"
          Action   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
          Resource = [var.ledger_table_arn]
        },
        {
          Sid      = "OwnQueue"
          Effect   = "Allow"
          Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
          Resource = aws_sqs_queue.this.arn
        },
        {
          Sid      = "OwnLogGroup"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${aws_cloudwatch_log_group.this.arn}:*"
        },
        {
          Sid      = "Notify"
          Effect   = "Allow"
          Action   = ["sns:Publish"]
          Resource = var.notification_topic_arn
        },
      ],
      var.firebreak_kms_key_arn != null ? [{
        # Firebreak's key, through the two services holding this function's data only: SQS
        # (receive) and DynamoDB (the table key).
        Sid      = "FirebreakKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.firebreak_kms_key_arn
        Condition = {
          StringEquals = {
            "kms:ViaService" = [for service in ["dynamodb", "sqs"] : "${service}.${var.region}.${var.dns_suffix}"]
          }
        }
      }] : [],
      var.notification_kms_key_arn != null ? [{
        # A topic encrypted with a given customer-managed key: SNS encrypts with the publisher's rights.
        Sid       = "NotifyKey"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.notification_kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "sns.${var.region}.${var.dns_suffix}" } }
      }] : [],
    )
  })
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.firebreak_kms_key_arn

  tags = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A Lambda dead-letter queue applies to asynchronous invocations only; the function is invoked by its SQS event source mapping, and messages that keep failing move to the queue's own DLQ (redrive_policy) whose depth raises an alarm.
  #checkov:skip=CKV_AWS_117:Not in a VPC: the function accepts no connections and calls only AWS APIs over TLS with IAM authentication; a VPC would need a NAT gateway or an interface endpoint per service to reach them, a network path containment would then depend on during an incident.
  #checkov:skip=CKV_AWS_50:No X-Ray tracing: xray:PutTraceSegments supports no resource-level permission, so tracing would add a Resource "*" write to a role kept free of them; every step is recorded in the ledger and in structured logs carrying the incident id.
  #checkov:skip=CKV_AWS_272:No Lambda code signing: AWS Signer signs packages staged in S3, and this module deploys the package from the local file, built reproducibly from the repository (make build) and pinned by its SHA-256 (source_code_hash).
  #checkov:skip=CKV_AWS_173:The environment holds configuration only (table, bucket and topic names, mode, options), no secret; Lambda encrypts it at rest with its AWS managed key, and a customer-managed key here would make every invocation depend on that key, so a disabled key would stop containment.
  function_name    = var.name
  description      = "Firebreak: records GuardDuty findings no playbook takes as unhandled, and tells people"
  role             = aws_iam_role.this.arn
  handler          = "index.handler"
  filename         = var.package_file
  source_code_hash = filebase64sha256(var.package_file)
  runtime          = var.runtime
  architectures    = [var.architecture]
  timeout          = var.timeout_seconds
  memory_size      = var.memory_mb

  # -1: unreserved (the mapping's maximum concurrency still caps how many run at once).
  reserved_concurrent_executions = coalesce(var.reserved_concurrency, -1)

  environment {
    variables = var.environment
  }

  tags = local.tags

  # Created first so Lambda does not create it without retention on the first invocation.
  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_sqs_queue.this.arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  enabled                            = var.event_source_mapping_enabled

  dynamic "scaling_config" {
    for_each = var.max_concurrency != null ? [var.max_concurrency] : []
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  tags = local.tags

  # Lambda checks that the role may read the queue when the mapping is created.
  depends_on = [aws_iam_role_policy.this]
}
