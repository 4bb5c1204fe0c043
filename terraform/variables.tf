################################################################################
# What Firebreak does
################################################################################

variable "mode" {
  description = "How far Firebreak may act on a finding: `observe` (record and plan, change nothing), `contain` (isolate and preserve evidence) or `full` (contain, then stop the resource once evidence is safe). No default: whoever applies this decides. A playbook may override it (`playbooks.<name>.mode`)."
  type        = string

  validation {
    condition     = contains(["observe", "contain", "full"], coalesce(var.mode, "(unset)"))
    error_message = "mode must be set to \"observe\", \"contain\" or \"full\". Start with mode = \"observe\" in a new account, then move to \"contain\"."
  }
}

variable "responder_principal_arns" {
  description = "IAM principals (ARNs, wildcards allowed, e.g. `arn:aws:iam::123456789012:role/IncidentResponder*`) that may put manual findings and releases on the responders' bus; everyone else is denied by the bus policy. Empty: only Firebreak's own functions (responders can still release with the CLI, as themselves, without the bus)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.responder_principal_arns : can(regex("^arn:aws[a-z-]*:(iam|sts)::(\\d{12}|\\*):.+$", p))])
    error_message = "responder_principal_arns must be IAM principal ARNs or ARN patterns, e.g. \"arn:aws:iam::123456789012:role/IncidentResponder\"."
  }
}

variable "min_severity" {
  description = "Findings below this GuardDuty severity (0-10) are recorded but never acted on."
  type        = number
  default     = 4.0

  validation {
    condition     = var.min_severity >= 0 && var.min_severity <= 10
    error_message = "min_severity must be between 0 and 10 (GuardDuty severities: low 1.0-3.9, medium 4.0-6.9, high 7.0-8.9, critical 9.0-10.0)."
  }
}

variable "finding_types_allow" {
  description = "If not empty, only findings whose type matches one of these patterns (e.g. `Backdoor:EC2/*`) are acted on."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.finding_types_allow : trimspace(t) != ""])
    error_message = "finding_types_allow must not contain empty strings; use finding types such as \"Backdoor:EC2/C&CActivity.B\" or patterns such as \"Backdoor:EC2/*\"."
  }
}

variable "finding_types_deny" {
  description = "Findings whose type matches one of these patterns are recorded but never acted on. Deny wins over allow."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for t in var.finding_types_deny : trimspace(t) != ""])
    error_message = "finding_types_deny must not contain empty strings; use finding types such as \"Recon:EC2/PortProbeUnprotectedPort\" or patterns such as \"Recon:*\"."
  }
}

variable "protected_principals" {
  description = "IAM principal ARNs (wildcards allowed, e.g. `arn:aws:iam::*:role/BreakGlass*`) that Firebreak must never revoke, deactivate or quarantine. Firebreak's own roles are always protected."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.protected_principals : startswith(p, "arn:")])
    error_message = "protected_principals must be IAM ARNs or ARN patterns starting with \"arn:\", e.g. \"arn:aws:iam::123456789012:role/BreakGlass\" or \"arn:aws:iam::*:role/BreakGlass*\"."
  }
}

variable "protected_resources" {
  description = "Resource ids or ARNs (wildcards allowed) that Firebreak must never change, e.g. a bastion instance id."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.protected_resources : trimspace(r) != ""])
    error_message = "protected_resources must not contain empty strings; use resource ids (\"i-0123456789abcdef0\") or ARNs."
  }
}

variable "exempt_tag_key" {
  description = "Resources carrying this tag key (any value) are recorded but never changed."
  type        = string
  default     = "firebreak:exempt"

  validation {
    condition     = length(var.exempt_tag_key) >= 1 && length(var.exempt_tag_key) <= 128 && !startswith(lower(var.exempt_tag_key), "aws:")
    error_message = "exempt_tag_key must be a tag key of 1-128 characters that does not start with \"aws:\" (reserved by AWS), e.g. \"firebreak:exempt\"."
  }
}

variable "blast_radius_limit" {
  description = "At most this many resources may be contained per playbook within `blast_radius_window_seconds`; further findings are recorded and left alone, so a flood of findings cannot take down a fleet."
  type        = number
  default     = 10

  validation {
    condition     = var.blast_radius_limit >= 1 && floor(var.blast_radius_limit) == var.blast_radius_limit
    error_message = "blast_radius_limit must be a whole number >= 1. To act on nothing, use mode = \"observe\" instead."
  }
}

variable "blast_radius_window_seconds" {
  description = "Length of the sliding window, in seconds, over which `blast_radius_limit` counts containments."
  type        = number
  default     = 3600

  validation {
    condition     = var.blast_radius_window_seconds >= 1 && floor(var.blast_radius_window_seconds) == var.blast_radius_window_seconds
    error_message = "blast_radius_window_seconds must be a whole number of seconds >= 1 (default 3600 = one hour)."
  }
}

################################################################################
# Storage, encryption and concurrency
################################################################################

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key (symmetric) that encrypts Firebreak's own data: the queues and DLQs, the ledger table, the evidence bucket (SSE-KMS with a bucket key) and the function log groups. Its key policy must let `logs.<region>.amazonaws.com` use it for log groups named `/aws/lambda/<name_prefix>-*` and `events.amazonaws.com` use it (kms:GenerateDataKey, kms:Decrypt) to deliver findings to the queues, and must allow IAM policies of this account (the function roles get kms:Decrypt and kms:GenerateDataKey on it, through SQS, S3 and DynamoDB only). Responders who read the ledger, the evidence or the DLQs need kms:Decrypt on it too. Null with `create_kms_key = false`: AWS-managed encryption (SSE-SQS, DynamoDB's AWS managed key, SSE-S3, CloudWatch Logs' own)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be the ARN of a KMS key, e.g. \"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\" (an alias cannot be granted in IAM policies), or null."
  }

  validation {
    condition     = !(var.kms_key_arn != null && var.create_kms_key)
    error_message = "Set either kms_key_arn (your own key) or create_kms_key = true (Firebreak creates one), not both."
  }
}

variable "create_kms_key" {
  description = "Create a customer-managed KMS key for Firebreak's own data (queues, ledger, evidence, log groups), with automatic rotation and a key policy that lets this account's IAM policies administer and use it, CloudWatch Logs encrypt the function log groups and EventBridge deliver to the queues. Mutually exclusive with `kms_key_arn`."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_key_deletion_window_days" {
  description = "Waiting period, in days (7-30), before a key created by `create_kms_key` is deleted after `terraform destroy`. Everything it encrypted is unreadable once it is gone."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_key_deletion_window_days >= 7 && var.kms_key_deletion_window_days <= 30 && floor(var.kms_key_deletion_window_days) == var.kms_key_deletion_window_days
    error_message = "kms_key_deletion_window_days must be a whole number from 7 to 30 (KMS's limits)."
  }
}

variable "evidence_object_lock_mode" {
  description = "S3 Object Lock default retention of the evidence bucket: `GOVERNANCE` (nobody can overwrite or delete an evidence version during `evidence_object_lock_days` unless they hold s3:BypassGovernanceRetention and ask for the bypass), `COMPLIANCE` (nobody can, not even the account root, until the period ends), or null (no default retention; a bucket that already has Object Lock keeps it enabled, AWS cannot turn it off)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = var.evidence_object_lock_mode == null || contains(["GOVERNANCE", "COMPLIANCE"], coalesce(var.evidence_object_lock_mode, "-"))
    error_message = "evidence_object_lock_mode must be \"GOVERNANCE\", \"COMPLIANCE\" (upper case, as S3 spells them) or null for no default retention."
  }
}

variable "evidence_object_lock_days" {
  description = "Default retention of every evidence object version, in days (1-36500), when `evidence_object_lock_mode` is set."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = var.evidence_object_lock_days >= 1 && var.evidence_object_lock_days <= 36500 && floor(var.evidence_object_lock_days) == var.evidence_object_lock_days
    error_message = "evidence_object_lock_days must be a whole number of days from 1 to 36500 (S3's 100-year maximum)."
  }
}

variable "access_log_bucket_name" {
  description = "Name of the bucket that receives the evidence bucket's S3 server access logs. Defaults to `<name_prefix>-access-logs-<account id>-<region>` (set it when that exceeds 63 characters: a 24-character prefix in a 14-character region)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket_name))
    error_message = "access_log_bucket_name must be a valid S3 bucket name (3-63 characters of lowercase letters, digits, '.' and '-'), or null to use the default name."
  }
}

variable "access_log_expiration_days" {
  description = "Server access logs of the evidence bucket (and their noncurrent versions) expire after this many days."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = var.access_log_expiration_days >= 1 && floor(var.access_log_expiration_days) == var.access_log_expiration_days
    error_message = "access_log_expiration_days must be a whole number of days >= 1."
  }
}

variable "evidence_replication" {
  description = "Replicate every new evidence object version to a bucket in a forensic account, so that evidence survives the compromise of this one: `destination_bucket_arn`, `destination_account_id` (replicas become that account's), and `kms_key_arn` (the destination's key for replicas; required when the evidence is SSE-KMS-encrypted). The destination bucket must be versioned, have Object Lock enabled when the evidence bucket does, and its policy must let this account's replication role `<name_prefix>-evidence-replication` replicate (s3:ReplicateObject, s3:ReplicateTags, s3:ObjectOwnerOverrideToBucketOwner; s3:List*, s3:GetBucketVersioning on the bucket); its key must let that role encrypt. Deletions are not replicated. Null: no replication."
  type = object({
    destination_bucket_arn = string
    destination_account_id = string
    kms_key_arn            = optional(string)
  })
  default = null

  validation {
    condition     = var.evidence_replication == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.evidence_replication.destination_bucket_arn))
    error_message = "evidence_replication.destination_bucket_arn must be an S3 bucket ARN, e.g. \"arn:aws:s3:::forensics-evidence-replica\"."
  }

  validation {
    condition     = var.evidence_replication == null || can(regex("^[0-9]{12}$", var.evidence_replication.destination_account_id))
    error_message = "evidence_replication.destination_account_id must be a 12-digit AWS account id."
  }

  validation {
    condition     = var.evidence_replication == null || try(var.evidence_replication.kms_key_arn == null, true) || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.evidence_replication.kms_key_arn))
    error_message = "evidence_replication.kms_key_arn must be the ARN of a KMS key in the destination's region (not an alias), or null."
  }

  validation {
    condition     = var.evidence_replication == null || (var.kms_key_arn == null && !var.create_kms_key) || try(var.evidence_replication.kms_key_arn != null, false)
    error_message = "With kms_key_arn or create_kms_key the evidence is SSE-KMS-encrypted, and S3 replicates SSE-KMS objects only with a key for the replicas: set evidence_replication.kms_key_arn (a key in the forensic account that lets this account's replication role encrypt)."
  }
}

variable "ledger_deletion_protection" {
  description = "DynamoDB deletion protection on the ledger table: `terraform destroy` (or anyone) cannot delete it until this is turned off. Keep true outside emulators and throwaway accounts."
  type        = bool
  default     = true
  nullable    = false
}

variable "lambda_reserved_concurrency" {
  description = "Concurrency reserved for each playbook function and for the catch-all's `unhandled` function (>= 1): it can never take more of the account's Lambda concurrency, and never gets less. Null: unreserved (the event source mapping's `max_concurrency` still caps it)."
  type        = number
  default     = null

  validation {
    condition     = var.lambda_reserved_concurrency == null || try(var.lambda_reserved_concurrency >= 1 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency, false)
    error_message = "lambda_reserved_concurrency must be a whole number >= 1, or null for unreserved concurrency. (0 would stop every function: use mode = \"observe\" or disable the playbook instead.)"
  }
}

variable "max_concurrency" {
  description = "Most concurrent invocations each queue's event source mapping may start (2-1000, Lambda's range), so that a storm of findings cannot take the account's Lambda concurrency. The default, 10, lets the first ten containments of a storm spend EC2's mutating-action burst (50 tokens, 5 a second: ModifyInstanceAttribute) without throttling; beyond the burst, EC2's refill rate, not concurrency, sets the pace (docs/decisions.md). Must not exceed `lambda_reserved_concurrency` when that is set (Lambda would throttle, and throttled messages count towards the DLQ)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.max_concurrency >= 2 && var.max_concurrency <= 1000 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 2 to 1000 (the range Lambda accepts for an SQS event source's maximum concurrency)."
  }

  validation {
    condition     = var.lambda_reserved_concurrency == null || try(var.max_concurrency <= var.lambda_reserved_concurrency, true)
    error_message = "max_concurrency must not exceed lambda_reserved_concurrency: the mapping would start invocations Lambda throttles, and each throttled receive brings a message closer to the DLQ. Lower max_concurrency or raise the reservation."
  }
}

################################################################################
# Naming and wiring
################################################################################

variable "name_prefix" {
  description = "Prefix of every resource name. Use different prefixes to run several Firebreak instances in one account and region."
  type        = string
  default     = "firebreak"

  validation {
    # 24 keeps `<prefix>-evidence-<account id>-<region>` within S3's 63-character bucket name limit.
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", var.name_prefix)) && length(var.name_prefix) <= 24
    error_message = "name_prefix must be 1-24 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit (e.g. \"firebreak\" or \"fb-prod\")."
  }
}

variable "event_bus_name" {
  description = "Name of the EventBridge bus the rules are created on. GuardDuty publishes findings on `default`."
  type        = string
  default     = "default"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,256}$", var.event_bus_name))
    error_message = "event_bus_name must be an event bus name (1-256 characters of letters, digits, '.', '_', '-', '/'), e.g. \"default\"."
  }
}

variable "dist_dir" {
  description = "Directory holding the built playbooks (`<playbook>.zip` and `<playbook>.iam.json`). Defaults to the repository's `dist/`."
  type        = string
  default     = null
}

variable "evidence_bucket_name" {
  description = "Name of the S3 bucket for evidence. Defaults to `<name_prefix>-evidence-<account id>-<region>`."
  type        = string
  default     = null

  validation {
    condition     = var.evidence_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.evidence_bucket_name))
    error_message = "evidence_bucket_name must be a valid S3 bucket name (3-63 characters of lowercase letters, digits, '.' and '-'), or null to use the default name."
  }
}

variable "evidence_bucket_deny_insecure_transport" {
  description = "Attach a bucket policy denying every request to the evidence bucket that does not use TLS. Keep true in AWS; an emulator served over plain HTTP on loopback needs false."
  type        = bool
  default     = true
}

variable "evidence_bucket_force_destroy" {
  description = "Allow `terraform destroy` to delete the evidence bucket with its objects, and the access-log bucket with its logs. Leave false outside test accounts: the buckets hold incident evidence. With Object Lock in GOVERNANCE mode the locked versions are deleted only by bypassing governance retention, so whoever runs `destroy` needs s3:BypassGovernanceRetention; versions locked in COMPLIANCE mode cannot be deleted by anyone before they expire, and `destroy` fails on them."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Lambda functions
################################################################################

variable "lambda_runtime" {
  description = "Lambda runtime of the playbook functions."
  type        = string
  default     = "nodejs22.x"

  validation {
    condition     = contains(["nodejs22.x", "nodejs24.x"], var.lambda_runtime)
    error_message = "lambda_runtime must be \"nodejs22.x\" or \"nodejs24.x\". Note that hashicorp/aws provider 5.x only accepts \"nodejs22.x\"; \"nodejs24.x\" needs provider 6.x."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the playbook functions: `arm64` or `x86_64`."
  type        = string
  # The bundle is pure JavaScript (no native modules), so it runs unchanged on Graviton, which
  # Lambda bills about 20% cheaper per GB-second than x86_64.
  default = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of each playbook function, in seconds. The queues' visibility timeout defaults to six times this."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900 && floor(var.lambda_timeout_seconds) == var.lambda_timeout_seconds
    error_message = "lambda_timeout_seconds must be a whole number from 1 to 900 (Lambda's maximum)."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of each playbook function, in MB. The default, 1769, is the smallest size with a full vCPU (Lambda's CPU share is proportional to memory): a cold start is CPU-bound on the way to isolation, and a delivery peaks near 110 MiB (make bench, coldstart). See docs/decisions.md."
  type        = number
  default     = 1769

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number from 128 to 10240."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups, in days (0 = never expire)."
  type        = number
  default     = 365
}

variable "log_level" {
  description = "Log level of the functions (Powertools `POWERTOOLS_LOG_LEVEL`)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "SILENT"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT (upper case)."
  }
}

variable "extra_environment" {
  description = "Extra environment variables for every playbook function (useful for endpoint overrides in tests). They win over Firebreak's own, except the playbook, mode and options, which only `mode` and `playbooks` set."
  type        = map(string)
  default     = {}
}

################################################################################
# Queues and delivery
################################################################################

variable "batch_size" {
  description = "Maximum number of messages a function receives per invocation. 1 (the default): each finding is its own invocation, so a slow or throttled containment, or a timeout, never holds another finding's isolation, and Lambda scales with the findings (up to `max_concurrency`)."
  type        = number
  default     = 1

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10000."
  }

  validation {
    condition     = var.batch_size <= 10 || var.maximum_batching_window_seconds >= 1
    error_message = "Lambda only accepts batch_size > 10 with a batching window: set maximum_batching_window_seconds >= 1 or lower batch_size to 10."
  }
}

variable "maximum_batching_window_seconds" {
  description = "How long Lambda may wait to fill a batch, in seconds. 0 sends each message as soon as possible."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_seconds >= 0 && var.maximum_batching_window_seconds <= 300
    error_message = "maximum_batching_window_seconds must be from 0 to 300."
  }
}

variable "max_receive_count" {
  description = "Deliveries of a message before SQS moves it to the playbook's dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "visibility_timeout_seconds" {
  description = "Visibility timeout of the playbook queues, in seconds. Defaults to 6 x `lambda_timeout_seconds` (AWS guidance for SQS event sources)."
  type        = number
  default     = null

  validation {
    condition     = var.visibility_timeout_seconds == null || try(var.visibility_timeout_seconds >= 1 && var.visibility_timeout_seconds <= 43200, false)
    error_message = "visibility_timeout_seconds must be from 1 to 43200 (12 hours), or null for 6 x lambda_timeout_seconds."
  }

  validation {
    condition     = var.visibility_timeout_seconds == null || try(var.visibility_timeout_seconds >= var.lambda_timeout_seconds, false)
    error_message = "visibility_timeout_seconds must be at least lambda_timeout_seconds (Lambda refuses the event source mapping otherwise); AWS recommends 6 x the timeout. Leave it null for that default."
  }
}

variable "event_source_mapping_enabled" {
  description = "Whether the queues feed the functions. Set false against emulators that try to run functions themselves (moto), and poll the queues instead."
  type        = bool
  default     = true
}

################################################################################
# Playbooks: `variable "playbooks"` is generated from the registry into playbooks.generated.tf
################################################################################

variable "follow_up_delay_seconds" {
  description = "Steps that wait for AWS (snapshots completing, Run Command output, an instance stopping) are looked at again this many seconds later, by the same message re-queued on the playbook's queue (0-900)."
  type        = number
  default     = 300

  validation {
    condition     = var.follow_up_delay_seconds >= 0 && var.follow_up_delay_seconds <= 900 && floor(var.follow_up_delay_seconds) == var.follow_up_delay_seconds
    error_message = "follow_up_delay_seconds must be a whole number from 0 to 900 (SQS's maximum message delay)."
  }
}

variable "max_follow_ups" {
  description = "A step still waiting after this many looks is recorded as failed (72 x 300 s = 6 hours, enough for large snapshots)."
  type        = number
  default     = 72

  validation {
    condition     = var.max_follow_ups >= 1 && var.max_follow_ups <= 1000 && floor(var.max_follow_ups) == var.max_follow_ups
    error_message = "max_follow_ups must be a whole number from 1 to 1000."
  }
}

################################################################################
# Organization: acting in member accounts (GuardDuty's delegated administrator receives their
# findings; modules/member-role deploys the role the functions assume there)
################################################################################

variable "member_account_ids" {
  description = "Accounts whose GuardDuty findings this deployment acts on, besides its own: deploy it in GuardDuty's delegated administrator account (which receives the members' findings) and `modules/member-role` in each of these accounts. A finding of any other account is recorded as skipped and never acted on. Manual findings act only in this deployment's own account."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.member_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "member_account_ids must be 12-digit AWS account ids, e.g. [\"111122223333\"] (as strings, with their leading zeros)."
  }
}

variable "member_role_name" {
  description = "Name of the role the functions assume in a member account (`modules/member-role` creates it with this name)."
  type        = string
  default     = "firebreak-responder"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.member_role_name))
    error_message = "member_role_name must be an IAM role name: 1-64 letters, digits and +=,.@_- (no path)."
  }
}

variable "member_external_id" {
  description = "External id the functions present when they assume a member role (its trust policy requires it: `sts:ExternalId`). Null: derived from this account's id and `name_prefix` (output `member_external_id`), stable across applies and regions."
  type        = string
  default     = null

  validation {
    condition     = var.member_external_id == null || can(regex("^[A-Za-z0-9+=,.@:/_-]{2,}$", var.member_external_id)) && length(coalesce(var.member_external_id, "xx")) <= 1224
    error_message = "member_external_id must be 2-1224 characters of letters, digits and +=,.@:/_-, or null to derive one."
  }
}

variable "catch_all_enabled" {
  description = "The catch-all rule, queue and `unhandled` function: every GuardDuty finding no enabled playbook takes (resource types with no playbook, disabled playbooks, new finding types) is recorded in the ledger as skipped (unhandled) and notified once. Turn off only if another system handles those findings."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# The RDS playbook's function in a VPC
################################################################################

variable "rds_function_subnet_ids" {
  description = "Subnets the rds-instance functions (containment and release) run in, to reach the databases they restrict users in. They call AWS APIs too: the subnets need a NAT gateway or interface endpoints (rds, ec2, secretsmanager, s3 gateway, dynamodb gateway, sqs, sns, ssm, events, logs, sts). Empty: the functions run outside any VPC and record the SQL as a recommendation."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.rds_function_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "rds_function_subnet_ids must be subnet ids (subnet-…)."
  }
  validation {
    condition     = (length(var.rds_function_subnet_ids) == 0) == (length(var.rds_function_security_group_ids) == 0)
    error_message = "Set rds_function_subnet_ids and rds_function_security_group_ids together (a function in a VPC needs both), or neither."
  }
}

variable "rds_function_security_group_ids" {
  description = "Security groups of the rds-instance functions in the VPC: the only source the RDS isolation group admits, on the database port. They need egress to the databases and to the AWS endpoints."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.rds_function_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "rds_function_security_group_ids must be security group ids (sg-…)."
  }
}
