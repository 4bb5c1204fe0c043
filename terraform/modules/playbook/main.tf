locals {
  tags = merge(var.tags, {
    "firebreak:component" = "playbook"
    "firebreak:playbook"  = var.playbook
  })

  log_group_name = "/aws/lambda/${var.name}"

  # The queue's own ARN, for the Resource of its inline policy (a resource cannot refer to its
  # own attributes). SQS ARNs are always arn:<partition>:sqs:<region>:<account>:<name>.
  queue_arn = "arn:${var.partition}:sqs:${var.region}:${var.account_id}:${var.name}"

  kms_actions = sort([for a in var.scoped_actions : a if startswith(a, "kms:")])

  # What this function may call besides its own resources: the manifest's statements that its
  # mode and options enable (observe: describe only; online capture's Run Command only with it…).
  granted_statements = [
    for s in var.iam_statements : s
    if contains(s.modes, var.mode) && alltrue([for o in s.enabledBy : lookup(var.enabled_options, o, false)])
  ]
  granted_actions = sort(distinct(flatten([for s in local.granted_statements : s.actions])))
}

################################################################################
# Rule -> queue
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  name           = var.name
  description    = "Firebreak: routes GuardDuty findings about ${var.playbook} resources to its queue. Every safety gate runs in the function."
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

# Manual findings and releases come only from the responders' bus, whose policy lets only the
# responders put events on it: a principal that may put events on the default bus cannot contain
# or release anything.
resource "aws_cloudwatch_event_rule" "manual" {
  name           = "${var.name}-manual"
  description    = "Firebreak: routes responders' manual findings and releases for ${var.playbook} resources to its queue."
  event_bus_name = var.responders_bus_name
  event_pattern  = var.manual_event_pattern

  tags = local.tags
}

resource "aws_cloudwatch_event_target" "manual" {
  rule           = aws_cloudwatch_event_rule.manual.name
  event_bus_name = var.responders_bus_name
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
  # The customer-managed key when there is one (EventBridge needs it in the key policy), else SSE-SQS.
  kms_master_key_id       = var.firebreak_kms_key_arn
  sqs_managed_sse_enabled = var.firebreak_kms_key_arn == null ? true : null

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  # Inline rather than an aws_sqs_queue_policy: the provider waits ~25 s for every queue attribute
  # change to settle (hashicorp/terraform-provider-aws#27393), so a separate policy resource adds a
  # third wait to the DLQ -> queue chain. The rule is created while the DLQ settles, so referring
  # to its real ARN here costs nothing.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowOnlyTheFirebreakRules"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.queue_arn
        Condition = { ArnEquals = { "aws:SourceArn" = [aws_cloudwatch_event_rule.this.arn, aws_cloudwatch_event_rule.manual.arn] } }
      },
      {
        # An allow alone lets any principal of the account whose own IAM policy allows
        # sqs:SendMessage forge a finding. Deny every sender that is neither one of the two rules
        # nor the function itself (its follow-ups). For EventBridge deliveries aws:PrincipalArn is
        # absent (a missing key satisfies ArnNotEquals); the function carries no aws:SourceArn.
        Sid       = "DenyEveryOtherSender"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:SendMessage"
        Resource  = local.queue_arn
        Condition = {
          ArnNotEquals = {
            "aws:SourceArn"    = [aws_cloudwatch_event_rule.this.arn, aws_cloudwatch_event_rule.manual.arn]
            "aws:PrincipalArn" = aws_iam_role.this.arn
          }
        }
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
  description = "Firebreak ${var.playbook} playbook function"
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
  name = "firebreak-playbook"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      length(local.granted_actions) > 0 ? [{
        # The actions the playbook's steps declare next to their code (dist/<playbook>.iam.json).
        Sid      = "PlaybookSteps"
        Effect   = "Allow"
        Action   = local.granted_actions
        Resource = "*"
      }] : [],
      [
        {
          Sid      = "Ledger"
          Effect   = "Allow"
          Action   = sort([for a in var.scoped_actions : a if startswith(a, "dynamodb:")])
          Resource = [var.ledger_table_arn]
        },
        {
          Sid      = "EvidenceObjects"
          Effect   = "Allow"
          Action   = sort([for a in var.scoped_actions : a if startswith(a, "s3:")])
          Resource = "${var.evidence_bucket_arn}/*"
        },
        {
          # SendMessage: follow-up deliveries for steps waiting on AWS (the message re-queued, delayed).
          Sid      = "OwnQueue"
          Effect   = "Allow"
          Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:SendMessage"]
          Resource = aws_sqs_queue.this.arn
        },
        {
          Sid      = "OwnLogGroup"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${aws_cloudwatch_log_group.this.arn}:*"
        },
      ],
      length(local.kms_actions) > 0 && length(var.kms_key_arns) > 0 ? [{
        Sid      = "ForensicKey"
        Effect   = "Allow"
        Action   = local.kms_actions
        Resource = var.kms_key_arns
      }] : [],
      length([for a in local.granted_actions : a if startswith(a, "iam:") && a != "iam:PassRole" && !startswith(a, "iam:Get") && !startswith(a, "iam:List")]) > 0 ? [{
        # The playbook may write inline policies on compromised roles (the session revocation);
        # never on its own role, or a compromised function could widen its own permissions.
        Sid      = "NeverChangeOwnRole"
        Effect   = "Deny"
        Action   = ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"]
        Resource = aws_iam_role.this.arn
      }] : [],
      contains(var.scoped_actions, "iam:PassRole") && length(var.pass_role_arns) > 0 ? [{
        Sid       = "PassIsolationRole"
        Effect    = "Allow"
        Action    = ["iam:PassRole"]
        Resource  = var.pass_role_arns
        Condition = { StringEquals = { "iam:PassedToService" = "ec2.amazonaws.com" } }
      }] : [],
      var.firebreak_kms_key_arn != null ? [{
        # Firebreak's own key, used only through the services that hold its data: SQS (receive:
        # Decrypt; the follow-up send: GenerateDataKey and Decrypt), S3 (evidence put:
        # GenerateDataKey; Decrypt for multipart uploads) and DynamoDB (the table key: Decrypt).
        # Never directly, never another key. The log group needs nothing: CloudWatch Logs uses
        # the key itself.
        Sid      = "FirebreakKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.firebreak_kms_key_arn
        Condition = {
          StringEquals = {
            "kms:ViaService" = [for service in ["dynamodb", "s3", "sqs"] : "${service}.${var.region}.${var.dns_suffix}"]
          }
        }
      }] : [],
      var.notification_topic_arn != null ? [{
        # Telling people: publish on the deployment's notification topic, no other.
        Sid      = "Notify"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = var.notification_topic_arn
      }] : [],
      var.pause_parameter_arn != null ? [{
        # The kill switch: read the deployment's pause parameter, no other.
        Sid      = "PauseSwitch"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = var.pause_parameter_arn
      }] : [],
      [{
        # Hand-offs between playbooks (shared/actions/handoff.ts): put events on the responders'
        # bus, no other (its policy admits this role by its ARN).
        Sid      = "HandOffToPlaybooks"
        Effect   = "Allow"
        Action   = ["events:PutEvents"]
        Resource = "arn:${var.partition}:events:${var.region}:${var.account_id}:event-bus/${var.responders_bus_name}"
      }],
      var.notification_topic_arn != null && var.notification_kms_key_arn != null ? [{
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
  function_name    = var.name
  description      = "Firebreak ${var.playbook} playbook"
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
    # The queue URL lets the function re-queue a finding whose steps wait on AWS.
    variables = merge(var.environment, { FIREBREAK_QUEUE_URL = aws_sqs_queue.this.url })
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

  # At most this many invocations at once, whatever the number of findings queued.
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
