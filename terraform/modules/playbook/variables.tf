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

variable "function_role" {
  description = "Which function of the playbook this is: `contain` (findings: the containment steps) or `release` (releases: the undo steps). Decides the statements of the manifest it is granted."
  type        = string

  validation {
    condition     = contains(["contain", "release"], var.function_role)
    error_message = "function_role must be contain or release."
  }
}

variable "rules" {
  description = "The EventBridge rules that feed the function's queue, by key: bus, pattern (JSON) and description."
  type = map(object({
    event_bus_name = string
    event_pattern  = string
    description    = string
  }))
}

variable "primary_rule" {
  description = "The key of `rules` whose rule is named `name` (the others are `<name>-<key>`)."
  type        = string
}

variable "iam_statements" {
  description = "The playbook's IAM manifest (`statements` of `<playbook>.iam.json`): per step, its grants (actions, resource ARN templates, conditions), the function roles, modes and options that enable it. This function is granted the statements its role, mode and options enable."
  type        = any
}

variable "iam_lists" {
  description = "What each list placeholder of the manifest's resources (`{forensic_image_arns}`…) stands for in this deployment (an empty list drops the grant)."
  type        = map(list(string))
  default     = {}
}

variable "iam_values" {
  description = "Scalar placeholders of the manifest's conditions besides partition, region and account (`forensic_account_id`)."
  type        = map(string)
  default     = {}
}

variable "own_role_arn_patterns" {
  description = "ARN patterns of Firebreak's own roles: denied every IAM write the function may otherwise make."
  type        = list(string)
  default     = []
}

variable "protected_principal_arns" {
  description = "ARNs (patterns allowed) of principals Firebreak must never change: denied every IAM write the function may otherwise make."
  type        = list(string)
  default     = []
}

variable "permissions_boundary_arn" {
  description = "The permissions boundary set on the function's role (null: none)."
  type        = string
  default     = null
}

variable "package_file" {
  description = "Path of the built deployment package (zip with `index.mjs` exporting `handler`, and the `chunks/` it imports)."
  type        = string
}

variable "scoped_actions" {
  description = "DynamoDB and S3 actions the playbook's code declares; granted on the ledger table and the evidence bucket's objects only."
  type        = list(string)
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

variable "member_role_arns" {
  description = "Organization: the member accounts' roles the function may assume (`sts:AssumeRole` on exactly these ARNs) to act on their findings."
  type        = list(string)
  default     = []
}

variable "handoff_bus_arn" {
  description = "The responders' bus, where a containment function hands a resource over to another playbook (null: no hand-offs, e.g. the release function)."
  type        = string
  default     = null
}

variable "vpc_config" {
  description = "Runs the function in a VPC (subnet and security group ids); null: outside any VPC. The rds-instance functions only, to reach databases."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}
