# Internal module: the root module validates user input; these variables only check what the
# root module computes.

variable "name" {
  description = "Name of the rule, queue, role and function (`<name_prefix>-unhandled`); the DLQ is `<name>-dlq`."
  type        = string
}

variable "event_bus_name" {
  description = "Name of the EventBridge bus GuardDuty's findings arrive on (the playbooks' rules are on it too)."
  type        = string
}

variable "event_pattern" {
  description = "EventBridge event pattern (JSON): every GuardDuty finding no enabled playbook's rule matches (built in catch-all.tf)."
  type        = string
}

variable "package_file" {
  description = "Path of the built `unhandled` function package (zip with `index.mjs` exporting `handler`, and the `chunks/` it imports)."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
}

variable "architecture" {
  description = "Lambda architecture."
  type        = string
}

variable "timeout_seconds" {
  description = "Function timeout, in seconds."
  type        = number
}

variable "memory_mb" {
  description = "Function memory, in MB."
  type        = number
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
}

variable "batch_size" {
  description = "Messages per invocation."
  type        = number
}

variable "maximum_batching_window_seconds" {
  description = "How long the poller gathers a batch, in seconds."
  type        = number
}

variable "max_receive_count" {
  description = "Receives before a message moves to the DLQ."
  type        = number
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the queue, in seconds."
  type        = number
}

variable "event_source_mapping_enabled" {
  description = "Whether the queue -> function mapping is enabled."
  type        = bool
}

variable "max_concurrency" {
  description = "Maximum concurrent invocations from the queue (null: Lambda's default)."
  type        = number
  default     = null
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of the function (null: unreserved)."
  type        = number
  default     = null
}

variable "firebreak_kms_key_arn" {
  description = "Firebreak's own customer-managed key (queues, log group), or null for AWS-managed encryption."
  type        = string
  default     = null
}

variable "dns_suffix" {
  description = "The partition's DNS suffix (kms:ViaService conditions)."
  type        = string
}

variable "notification_topic_arn" {
  description = "The notification topic the function publishes on."
  type        = string
}

variable "notification_kms_key_arn" {
  description = "The customer-managed key of a given notification topic, or null."
  type        = string
  default     = null
}

variable "ledger_table_arn" {
  description = "ARN of the ledger table."
  type        = string
}

variable "partition" {
  description = "AWS partition."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "account_id" {
  description = "AWS account id."
  type        = string
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary_arn" {
  description = "The permissions boundary set on the function's role (null: none)."
  type        = string
  default     = null
}
