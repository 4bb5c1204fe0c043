output "function_name" {
  description = "Name of the playbook's Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the playbook's Lambda function."
  value       = aws_lambda_function.this.arn
}

output "queue_url" {
  description = "URL of the queue the rule delivers findings to."
  value       = aws_sqs_queue.this.url
}

output "queue_name" {
  description = "Name of the queue (the `QueueName` dimension of its CloudWatch metrics)."
  value       = aws_sqs_queue.this.name
}

output "dlq_name" {
  description = "Name of the dead-letter queue (the `QueueName` dimension of its CloudWatch metrics)."
  value       = aws_sqs_queue.dlq.name
}

output "queue_arn" {
  description = "ARN of the queue the rule delivers findings to."
  value       = aws_sqs_queue.this.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "rule_name" {
  description = "Name of the primary EventBridge rule (GuardDuty's findings for containment, releases for release)."
  value       = aws_cloudwatch_event_rule.this[var.primary_rule].name
}

output "rule_arn" {
  description = "ARN of the primary EventBridge rule."
  value       = aws_cloudwatch_event_rule.this[var.primary_rule].arn
}

output "rule_arns" {
  description = "ARN of every rule that feeds the queue, by key."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.arn }
}

output "function_role" {
  description = "`contain` or `release`."
  value       = var.function_role
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the queue -> function event source mapping."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout of the queue, in seconds."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "max_receive_count" {
  description = "Receives before a message moves to the DLQ (from the queue's redrive policy)."
  value       = try(jsondecode(aws_sqs_queue.this.redrive_policy).maxReceiveCount, null)
}

output "redrive_policy" {
  description = "The queue's redrive policy, decoded."
  value       = try(jsondecode(aws_sqs_queue.this.redrive_policy), null)
}

output "queue_policy" {
  description = "The queue's access policy, decoded."
  value       = try(jsondecode(aws_sqs_queue.this.policy), null)
}

output "role_policy" {
  description = "The function role's inline policy, decoded."
  value       = try(jsondecode(aws_iam_role_policy.this.policy), null)
}

output "environment" {
  description = "Environment variables of the function."
  value       = try(aws_lambda_function.this.environment[0].variables, {})
}

output "event_source_mapping" {
  description = "Settings of the queue -> function event source mapping."
  value = {
    uuid                               = aws_lambda_event_source_mapping.this.uuid
    enabled                            = aws_lambda_event_source_mapping.this.enabled
    batch_size                         = aws_lambda_event_source_mapping.this.batch_size
    maximum_batching_window_in_seconds = aws_lambda_event_source_mapping.this.maximum_batching_window_in_seconds
    function_response_types            = aws_lambda_event_source_mapping.this.function_response_types
    event_source_arn                   = aws_lambda_event_source_mapping.this.event_source_arn
    maximum_concurrency                = try(aws_lambda_event_source_mapping.this.scaling_config[0].maximum_concurrency, null)
  }
}

output "memory_mb" {
  description = "Memory of the function, in MB."
  value       = aws_lambda_function.this.memory_size
}

output "granted_actions" {
  description = "The playbook actions this function's role is granted (its mode and options decide), on `*` or on the resources the statements name."
  value       = local.granted_actions
}

output "reserved_concurrency" {
  description = "Reserved concurrency of the function (-1: unreserved)."
  value       = aws_lambda_function.this.reserved_concurrent_executions
}

output "encryption" {
  description = "How the queue, the DLQ and the log group are encrypted: the KMS key of each (null: AWS-managed) and whether SSE-SQS is on."
  value = {
    queue_kms_master_key_id = aws_sqs_queue.this.kms_master_key_id
    queue_sqs_managed_sse   = aws_sqs_queue.this.sqs_managed_sse_enabled
    dlq_kms_master_key_id   = aws_sqs_queue.dlq.kms_master_key_id
    dlq_sqs_managed_sse     = aws_sqs_queue.dlq.sqs_managed_sse_enabled
    log_group_kms_key_id    = aws_cloudwatch_log_group.this.kms_key_id
  }
}

output "manual_rule_arn" {
  description = "ARN of the rule on the responders' bus (manual findings for containment, releases for release)."
  value       = try(aws_cloudwatch_event_rule.this["manual"].arn, aws_cloudwatch_event_rule.this["release"].arn, null)
}

output "guardduty_pattern" {
  description = "The pattern of the rule on the findings bus (GuardDuty findings only); null for the release function."
  value       = try(aws_cloudwatch_event_rule.this["findings"].event_pattern, null)
}

output "manual_pattern" {
  description = "The pattern of the rule on the responders' bus (manual findings for containment, releases for release)."
  value       = try(aws_cloudwatch_event_rule.this["manual"].event_pattern, aws_cloudwatch_event_rule.this["release"].event_pattern, null)
}

output "manual_bus_name" {
  description = "The bus the rule on the responders' bus listens on."
  value       = try(aws_cloudwatch_event_rule.this["manual"].event_bus_name, aws_cloudwatch_event_rule.this["release"].event_bus_name, null)
}

output "step_statements" {
  description = "The statements of the playbook's steps this function is granted, rendered (without Firebreak's own resources): what a member account's responder role carries for this function."
  value       = local.step_statements
}

output "role_permissions_boundary" {
  description = "The permissions boundary of the function's role."
  value       = aws_iam_role.this.permissions_boundary
}

output "member_role_statements" {
  description = "What a member account's role needs to act for this function there: the statements its steps are granted (its role, mode and options decide) and the deny on protected, Firebreak and service-linked principals; not Firebreak's own resources (ledger, evidence, queue, logs, key, topic, pause switch), which stay in the deployment account."
  value = concat(
    local.step_statements,
    [for s in try(jsondecode(aws_iam_role_policy.this.policy).Statement, []) : s if try(s.Sid, "") == "NeverProtectedOwnOrServiceRoles"],
  )
}

output "vpc_config" {
  description = "The function's subnets and security groups (null: outside any VPC)."
  value       = try({ subnet_ids = tolist(aws_lambda_function.this.vpc_config[0].subnet_ids), security_group_ids = tolist(aws_lambda_function.this.vpc_config[0].security_group_ids) }, null)
}
