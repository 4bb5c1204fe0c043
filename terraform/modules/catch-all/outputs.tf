output "rule_name" {
  description = "Name of the catch-all EventBridge rule."
  value       = aws_cloudwatch_event_rule.this.name
}

output "rule_arn" {
  description = "ARN of the catch-all EventBridge rule."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "event_pattern" {
  description = "The catch-all rule's pattern (JSON)."
  value       = aws_cloudwatch_event_rule.this.event_pattern
}

output "event_bus_name" {
  description = "The bus the catch-all rule listens on."
  value       = aws_cloudwatch_event_rule.this.event_bus_name
}

output "queue_url" {
  description = "URL of the catch-all queue."
  value       = aws_sqs_queue.this.url
}

output "queue_arn" {
  description = "ARN of the catch-all queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the catch-all queue (the `QueueName` dimension of its CloudWatch metrics)."
  value       = aws_sqs_queue.this.name
}

output "dlq_url" {
  description = "URL of the catch-all's dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_arn" {
  description = "ARN of the catch-all's dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the catch-all's dead-letter queue (the `QueueName` dimension of its CloudWatch metrics)."
  value       = aws_sqs_queue.dlq.name
}

output "function_name" {
  description = "Name of the `unhandled` function."
  value       = aws_lambda_function.this.function_name
}

output "role_arn" {
  description = "ARN of the `unhandled` function's role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "environment" {
  description = "Environment variables of the function."
  value       = try(aws_lambda_function.this.environment[0].variables, {})
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

output "event_source_mapping" {
  description = "Settings of the queue -> function event source mapping."
  value = {
    uuid                    = aws_lambda_event_source_mapping.this.uuid
    enabled                 = aws_lambda_event_source_mapping.this.enabled
    batch_size              = aws_lambda_event_source_mapping.this.batch_size
    function_response_types = aws_lambda_event_source_mapping.this.function_response_types
    event_source_arn        = aws_lambda_event_source_mapping.this.event_source_arn
  }
}

output "reserved_concurrency" {
  description = "Reserved concurrency of the function (-1: unreserved)."
  value       = aws_lambda_function.this.reserved_concurrent_executions
}

output "role_permissions_boundary" {
  description = "The permissions boundary of the function's role."
  value       = aws_iam_role.this.permissions_boundary
}
