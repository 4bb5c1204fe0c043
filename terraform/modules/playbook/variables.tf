# Internal module: the root module validates user input; these variables only check what the
# root module computes.

variable "name" {
  description = "Name of the rule, queue, role and function (`<name_prefix>-<playbook>`); the DLQ is `<name>-dlq`."
  type        = string
}

variable "playbook" {
  description = "Playbook (resource type) name, e.g. `ec2-instance`."
  type        = string
}

variable "event_pattern" {
  description = "EventBridge event pattern (JSON) routing findings to this playbook."
  type        = string
}

variable "event_bus_name" {
  description = "Name of the EventBridge bus the rule is created on."
  type        = string
}

variable "package_file" {
  description = "Path of the built deployment package (zip with `index.mjs` exporting `handler`)."
  type        = string
}

variable "scoped_actions" {
  description = "DynamoDB and S3 actions the playbook's code declares; granted on the ledger table and the evidence bucket's objects only."
  type        = list(string)
}

variable "iam_statements" {
  description = "The playbook's IAM manifest (`statements` of `<playbook>.iam.json`): actions per step, with the modes and options that enable them. The role is granted the actions of the statements this function's mode and options enable."
  type = list(object({
    sid       = string
    actions   = list(string)
    modes     = list(string)
    enabledBy = list(string)
  }))
}

variable "mode" {
  description = "The function's mode (`observe`, `contain` or `full`): only the statements for it are granted."
  type        = string
}

variable "enabled_options" {
  description = "Whether each option path that enables steps is set (`playbook_switches` of playbooks.generated.tf); a statement is granted only when all its `enabledBy` paths are."
  type        = map(bool)
  default     = {}
}

variable "kms_key_arns" {
  description = "KMS keys the playbook's `kms:` actions are granted on (none: no KMS access)."
  type        = list(string)
  default     = []
}

variable "pass_role_arns" {
  description = "Roles the playbook may pass (`iam:PassRole`), e.g. the isolation instance profile's role."
  type        = list(string)
  default     = []
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
  description = "Lambda timeout, in seconds."
  type        = number
}

variable "memory_mb" {
  description = "Lambda memory, in MB."
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
  description = "Event source mapping batch size."
  type        = number
}

variable "maximum_batching_window_seconds" {
  description = "Event source mapping batching window, in seconds."
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
  description = "Whether the event source mapping is enabled."
  type        = bool
}

variable "ledger_table_arn" {
  description = "ARN of the ledger DynamoDB table."
  type        = string
}

variable "evidence_bucket_arn" {
  description = "ARN of the evidence S3 bucket."
  type        = string
}

variable "partition" {
  description = "AWS partition (`aws`, `aws-cn`, `aws-us-gov`)."
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
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "firebreak_kms_key_arn" {
  description = "Customer-managed KMS key of Firebreak's own data: encrypts the queue, the DLQ and the log group, and the role may use it (kms:Decrypt, kms:GenerateDataKey) through SQS, S3 and DynamoDB only. Null: SSE-SQS and CloudWatch Logs' own encryption, no KMS grant."
  type        = string
  default     = null
}

variable "dns_suffix" {
  description = "DNS suffix of the partition (`amazonaws.com`, `amazonaws.com.cn`), for the `kms:ViaService` endpoints."
  type        = string
  default     = "amazonaws.com"
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of the function; null: unreserved."
  type        = number
  default     = null
}

variable "max_concurrency" {
  description = "Maximum concurrency of the queue -> function event source mapping (2-1000); null: none."
  type        = number
  default     = null
}

variable "notification_topic_arn" {
  description = "SNS topic the function tells people on (`sns:Publish` on it only); null: no notifications."
  type        = string
  default     = null
}

variable "notification_kms_key_arn" {
  description = "Customer-managed KMS key of that topic, when the role must be granted its use (through SNS only); null: none (an AWS-managed key, or a key whose policy names the role)."
  type        = string
  default     = null
}

variable "pause_parameter_arn" {
  description = "ARN of the deployment's pause parameter (the kill switch); the role may read it, nothing else of SSM Parameter Store."
  type        = string
  default     = null
}

variable "responders_bus_name" {
  description = "The responders' event bus: the manual rule (manual findings and releases) listens there."
  type        = string
}

variable "manual_event_pattern" {
  description = "EventBridge pattern of the manual rule on the responders' bus (firebreak.manual events for this playbook)."
  type        = string
}

variable "member_role_arns" {
  description = "Organization: the member accounts' roles the function may assume (`sts:AssumeRole` on exactly these ARNs) to act on their findings."
  type        = list(string)
  default     = []
}
