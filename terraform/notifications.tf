################################################################################
# People told: one SNS topic per deployment. The functions publish a message per incident
# status change (contained, held, failed, released) and once per finding no playbook handles;
# CloudWatch alarms per playbook (DLQ not empty, errors, throttles, oldest message age) publish
# there too. E-mail, chat and ticketing hooks subscribe to it.
################################################################################

variable "notification_emails" {
  description = "E-mail addresses subscribed to the notification topic (each receives a confirmation message from SNS first)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails must be e-mail addresses, e.g. [\"security-oncall@example.com\"]."
  }
}

variable "notification_topic_arn" {
  description = "Bring your own SNS topic: the functions and alarms publish there and no topic is created. Its policy must let the function roles (output `playbooks`) and cloudwatch.amazonaws.com publish; if it is encrypted with a customer-managed key, set `notifications_kms_key_arn` to it and let cloudwatch.amazonaws.com use the key."
  type        = string
  default     = null

  validation {
    # A standard topic: a FIFO topic refuses every publication without a message group.
    condition     = var.notification_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.notification_topic_arn))
    error_message = "notification_topic_arn must be the ARN of a standard (not FIFO) SNS topic, e.g. \"arn:aws:sns:eu-west-1:111122223333:security-alerts\"."
  }
}

variable "notifications_kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the notification topic (the function roles are granted its use through SNS; its policy must also let cloudwatch.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt, or alarms cannot publish). Null: Firebreak creates a key for the topic whose policy does both (AWS's alias/aws/sns key cannot be used: CloudWatch alarms cannot publish to a topic it encrypts)."
  type        = string
  default     = null

  validation {
    condition     = var.notifications_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.notifications_kms_key_arn))
    error_message = "notifications_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias: IAM grants name keys."
  }
}

variable "alarms_enabled" {
  description = "CloudWatch alarms per playbook (DLQ not empty, function errors, throttles, oldest message age) publishing to the notification topic, and a dashboard of the same metrics."
  type        = bool
  default     = true
}

variable "alarm_oldest_message_age_seconds" {
  description = "The oldest-message-age alarm fires when a playbook's queue holds a message older than this (seconds). Keep it above follow_up_delay_seconds: a re-queued follow-up waits that long by design."
  type        = number
  default     = 900

  validation {
    condition     = floor(var.alarm_oldest_message_age_seconds) == var.alarm_oldest_message_age_seconds && var.alarm_oldest_message_age_seconds >= 60 && var.alarm_oldest_message_age_seconds > var.follow_up_delay_seconds
    error_message = "alarm_oldest_message_age_seconds must be a whole number of seconds, at least 60 and above follow_up_delay_seconds (a follow-up delivery waits that long on purpose)."
  }
}

locals {
  create_notification_topic = var.notification_topic_arn == null
  notification_topic_name   = "${var.name_prefix}-notifications"
  # Known before the topic exists (SNS topic ARNs are arn:<partition>:sns:<region>:<account>:<name>),
  # so the functions' environment and the alarms do not wait on its creation.
  notification_topic_arn = local.create_notification_topic ? "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.notification_topic_name}" : var.notification_topic_arn

  create_notifications_key  = local.create_notification_topic && var.notifications_kms_key_arn == null
  notifications_kms_key_arn = local.create_notifications_key ? aws_kms_key.notifications[0].arn : var.notifications_kms_key_arn

  # Every function of the deployment: each playbook's containment function and, outside observe
  # mode, its release function (`<playbook>-release`); the catch-all's `unhandled`.
  functions          = merge(module.playbook, { for name, p in module.release : "${name}-release" => p })
  function_role_arns = concat([for name in sort(keys(local.functions)) : local.functions[name].role_arn], module.catch_all[*].role_arn)

  # The catch-all's queue, DLQ and function are watched like a playbook's, under the name
  # `unhandled` (no playbook has it): a finding it could not record waits in its DLQ.
  alarmed_playbooks = merge(
    { for name, p in local.functions : name => p if var.alarms_enabled },
    { for m in module.catch_all : "unhandled" => m if var.alarms_enabled },
  )
}

resource "aws_kms_key" "notifications" {
  count = local.create_notifications_key ? 1 : 0

  description         = "Firebreak (${var.name_prefix}): the notification topic"
  enable_key_rotation = true

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid       = "AccountAdministersThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      }],
      length(local.function_role_arns) > 0 ? [{
        # SNS encrypts a message with the publisher's rights: the functions, through SNS only.
        Sid       = "FunctionsPublishThroughSns"
        Effect    = "Allow"
        Principal = { AWS = local.function_role_arns }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "kms:ViaService" = "sns.${local.region}.${data.aws_partition.current.dns_suffix}" } }
      }] : [],
      [{
        # CloudWatch alarms publish as the service principal, which no IAM policy can authorise:
        # without this statement an alarm's notification is dropped. The topic's policy admits
        # only this account's Firebreak alarms.
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      }],
    )
  })

  tags = merge(var.tags, { "firebreak:component" = "notifications" })
}

resource "aws_sns_topic" "notifications" {
  count = local.create_notification_topic ? 1 : 0

  name              = local.notification_topic_name
  display_name      = "Firebreak"
  kms_master_key_id = local.notifications_kms_key_arn

  tags = merge(var.tags, { "firebreak:component" = "notifications" })
}

resource "aws_sns_topic_policy" "notifications" {
  count = local.create_notification_topic ? 1 : 0

  arn = local.notification_topic_arn
  policy = jsonencode({
    Version = "2012-10-17"
    # No allow for the function roles: they are of this account and publish with their own
    # IAM grant (the role policy's Notify statement); an allow here would only repeat it.
    Statement = concat(
      [{
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = local.notification_topic_arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-*" }
        }
      }],
      # An allow alone would let any principal of this account whose own IAM policy allows
      # sns:Publish send a forged "contained" to every subscriber: everyone else is denied. A
      # request that carries aws:SourceArn comes from an AWS service on behalf of a resource (the
      # alarm statement above relies on it too); no IAM principal can set it.
      length(local.function_role_arns) > 0 ? [{
        Sid       = "OnlyFirebreakPublishes"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = local.notification_topic_arn
        Condition = {
          ArnNotEquals = { "aws:PrincipalArn" = local.function_role_arns }
          Null         = { "aws:SourceArn" = "true" }
        }
      }] : [],
      # No function deployed (every playbook disabled): only the alarms may publish.
      length(local.function_role_arns) == 0 ? [{
        Sid       = "OnlyFirebreakPublishes"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = local.notification_topic_arn
        Condition = { Null = { "aws:SourceArn" = "true" } }
      }] : [],
      [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = local.notification_topic_arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }],
    )
  })

  # Named by the ARN the functions and alarms are given (known at plan), once the topic exists.
  depends_on = [aws_sns_topic.notifications]
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.notification_emails)

  topic_arn = local.notification_topic_arn
  protocol  = "email"
  endpoint  = each.value

  depends_on = [aws_sns_topic.notifications]
}

################################################################################
# Alarms per playbook, to the topic (alarm and OK): a containment that failed for good waits in
# the DLQ, errors and throttles mean findings are not being handled, an old message means the
# queue is not drained. No data is not a problem (treat_missing_data = notBreaching).
################################################################################

locals {
  alarm_actions = [local.notification_topic_arn]
  alarm_tags    = merge(var.tags, { "firebreak:component" = "alarm" })
}

locals {
  # The four alarms of every playbook, as data: what each watches and what it means.
  alarm_kinds = {
    dlq-not-empty = {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      threshold   = 0
      dimensions  = { for name, p in local.alarmed_playbooks : name => { QueueName = p.dlq_name } }
      describe    = { for name, p in local.alarmed_playbooks : name => "messages in the dead-letter queue ${p.dlq_name}. Each is a finding or release the function gave up on after max_receive_count deliveries (a containment that kept failing, or a bug); `firebreak incidents` says what happened. SQS deletes them after 14 days." }
    }
    errors = {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { for name, p in local.alarmed_playbooks : name => { FunctionName = p.function_name } }
      describe    = { for name, p in local.alarmed_playbooks : name => "the function ${p.function_name} failed (an invocation error, not a finding it recorded as failed): its messages are retried and may land in the DLQ. See its log group ${p.log_group_name}." }
    }
    throttles = {
      namespace   = "AWS/Lambda"
      metric_name = "Throttles"
      statistic   = "Sum"
      threshold   = 0
      dimensions  = { for name, p in local.alarmed_playbooks : name => { FunctionName = p.function_name } }
      describe    = { for name, p in local.alarmed_playbooks : name => "Lambda throttled the function ${p.function_name} (account concurrency, or its reserved concurrency): findings wait in the queue." }
    }
    oldest-message-age = {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateAgeOfOldestMessage"
      statistic   = "Maximum"
      threshold   = var.alarm_oldest_message_age_seconds
      dimensions  = { for name, p in local.alarmed_playbooks : name => { QueueName = p.queue_name } }
      describe    = { for name, p in local.alarmed_playbooks : name => "a message has waited more than ${var.alarm_oldest_message_age_seconds} s in ${p.queue_name}: findings are not being contained in time (the event source mapping disabled, the function failing or throttled)." }
    }
  }

  playbook_alarms = {
    for pair in setproduct(keys(local.alarmed_playbooks), keys(local.alarm_kinds)) : "${pair[0]}/${pair[1]}" => {
      playbook = pair[0]
      kind     = pair[1]
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "playbook" {
  for_each = local.playbook_alarms

  alarm_name        = "${var.name_prefix}-${each.value.playbook}-${each.value.kind}"
  alarm_description = "Firebreak ${each.value.playbook}: ${local.alarm_kinds[each.value.kind].describe[each.value.playbook]}"
  namespace         = local.alarm_kinds[each.value.kind].namespace
  metric_name       = local.alarm_kinds[each.value.kind].metric_name
  dimensions        = local.alarm_kinds[each.value.kind].dimensions[each.value.playbook]

  statistic           = local.alarm_kinds[each.value.kind].statistic
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.alarm_kinds[each.value.kind].threshold
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = merge(local.alarm_tags, { "firebreak:playbook" = each.value.playbook })

  # The topic lets the alarm publish only once its policy is in place.
  depends_on = [aws_sns_topic_policy.notifications]
}

################################################################################
# One dashboard: per playbook, its queue (depth, oldest message), its DLQ, its function.
# Dashboards are global to the account: the name carries the region.
################################################################################

locals {
  dashboard_playbooks = sort(keys(local.alarmed_playbooks))
  dashboard_widgets = flatten([
    for i, name in local.dashboard_playbooks : [
      {
        type   = "text"
        x      = 0
        y      = i * 7
        width  = 24
        height = 1
        properties = {
          markdown = "### ${name}: queue ${local.alarmed_playbooks[name].queue_name}, dead-letter queue, function ${local.alarmed_playbooks[name].function_name}"
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = i * 7 + 1
        width  = 8
        height = 6
        properties = {
          title  = "Queue: messages waiting, oldest message age (s)"
          region = local.region
          view   = "timeSeries"
          period = 60
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.alarmed_playbooks[name].queue_name, { stat = "Maximum", label = "waiting" }],
            ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.alarmed_playbooks[name].queue_name, { stat = "Maximum", label = "oldest message age", yAxis = "right" }],
          ]
          annotations = { horizontal = [{ label = "age alarm", value = var.alarm_oldest_message_age_seconds, yAxis = "right" }] }
        }
      },
      {
        type   = "metric"
        x      = 8
        y      = i * 7 + 1
        width  = 8
        height = 6
        properties = {
          title  = "Dead-letter queue: messages given up on"
          region = local.region
          view   = "timeSeries"
          period = 60
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.alarmed_playbooks[name].dlq_name, { stat = "Maximum", label = "in the DLQ" }],
          ]
        }
      },
      {
        type   = "metric"
        x      = 16
        y      = i * 7 + 1
        width  = 8
        height = 6
        properties = {
          title  = "Function: invocations, errors, throttles"
          region = local.region
          view   = "timeSeries"
          period = 60
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", local.alarmed_playbooks[name].function_name, { stat = "Sum", label = "invocations" }],
            ["AWS/Lambda", "Errors", "FunctionName", local.alarmed_playbooks[name].function_name, { stat = "Sum", label = "errors" }],
            ["AWS/Lambda", "Throttles", "FunctionName", local.alarmed_playbooks[name].function_name, { stat = "Sum", label = "throttles" }],
          ]
        }
      },
    ]
  ])
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.alarms_enabled && length(local.dashboard_playbooks) > 0 ? 1 : 0

  dashboard_name = "${var.name_prefix}-${local.region}"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}

output "notification_topic_arn" {
  description = "ARN of the SNS topic Firebreak tells people on (the one it created, or `notification_topic_arn`). Messages carry the attributes status (contained, held, failed, released, unhandled), playbook, severity (Number), accountId, resourceType and incidentId, for subscription filter policies."
  value       = local.create_notification_topic ? aws_sns_topic.notifications[0].arn : var.notification_topic_arn
}
