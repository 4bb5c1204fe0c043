# Tamper-proof records and bounded concurrency: Object Lock, access logs, replication to a
# forensic account, one customer-managed key for Firebreak's own data, ledger deletion protection,
# reserved and maximum concurrency. The aws provider is mocked as in firebreak.tftest.hcl.

mock_provider "aws" {
  source = "./tests/mocks"
}

# The two buckets get their real ARNs, so that policies naming one or the other can be told apart.
override_resource {
  target = aws_s3_bucket.evidence
  values = { arn = "arn:aws:s3:::firebreak-evidence-123456789012-us-east-1" }
}

override_resource {
  target = aws_s3_bucket.access_logs
  values = { arn = "arn:aws:s3:::firebreak-access-logs-123456789012-us-east-1" }
}

override_resource {
  target = aws_iam_role.evidence_replication
  values = { arn = "arn:aws:iam::123456789012:role/firebreak-evidence-replication" }
}

variables {
  mode     = "contain"
  dist_dir = "tests/fixtures/playbooks"

  # Keys used below (a key of this account, and one of the forensic account).
  test_key_arn         = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  test_replica_key_arn = "arn:aws:kms:eu-west-1:999988887777:key/abcd1234-ab12-cd34-ef56-abcdef123456"
}

################################################################################
# Runs share state, and some attributes keep what an earlier run applied (a bucket keeps Object
# Lock once enabled; DynamoDB's kms_key_arn is computed): these come first.
################################################################################

run "no_lock_mode_means_no_object_lock" {
  command = plan

  variables {
    evidence_object_lock_mode = null
  }

  assert {
    condition     = length(aws_s3_bucket_object_lock_configuration.evidence) == 0 && aws_s3_bucket.evidence.object_lock_enabled == false
    error_message = "evidence_object_lock_mode = null must create neither Object Lock nor a default retention."
  }
}

run "aws_managed_encryption_without_a_key" {
  assert {
    # kms_key_arn is computed (AWS reports the AWS managed key there): the input is what matters.
    condition     = aws_dynamodb_table.ledger.server_side_encryption[0].enabled && output.kms_key_arn == null
    error_message = "Without a key the ledger keeps DynamoDB's AWS managed key."
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.evidence.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256" &&
      one(aws_s3_bucket_server_side_encryption_configuration.evidence.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == null
    )
    error_message = "Without a key the evidence bucket keeps SSE-S3."
  }

  assert {
    condition = (
      module.playbook["ec2-instance"].encryption.queue_kms_master_key_id == null &&
      module.playbook["ec2-instance"].encryption.queue_sqs_managed_sse == true &&
      module.playbook["ec2-instance"].encryption.dlq_kms_master_key_id == null &&
      module.playbook["ec2-instance"].encryption.dlq_sqs_managed_sse == true &&
      module.playbook["ec2-instance"].encryption.log_group_kms_key_id == null
    )
    error_message = "Without a key the queues keep SSE-SQS and the log group CloudWatch Logs' own encryption."
  }

  assert {
    condition     = length(aws_kms_key.firebreak) == 0 && output.kms_key_arn == null
    error_message = "No key is created unless create_kms_key is set."
  }

  assert {
    condition     = length([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "FirebreakKey"]) == 0
    error_message = "Without a key the role has no key statement."
  }
}

################################################################################
# Evidence: Object Lock
################################################################################

run "object_lock_defaults_to_governance_for_365_days" {
  command = plan

  assert {
    condition     = aws_s3_bucket.evidence.object_lock_enabled == true
    error_message = "The evidence bucket must be created with Object Lock enabled."
  }

  assert {
    condition = (
      aws_s3_bucket_object_lock_configuration.evidence[0].object_lock_enabled == "Enabled" &&
      aws_s3_bucket_object_lock_configuration.evidence[0].rule[0].default_retention[0].mode == "GOVERNANCE" &&
      aws_s3_bucket_object_lock_configuration.evidence[0].rule[0].default_retention[0].days == 365
    )
    error_message = "Every evidence version must be locked in GOVERNANCE mode for 365 days by default."
  }

  assert {
    condition     = aws_s3_bucket_versioning.evidence.versioning_configuration[0].status == "Enabled"
    error_message = "Object Lock needs a versioned bucket."
  }
}

run "object_lock_in_compliance_mode" {
  command = plan

  variables {
    evidence_object_lock_mode = "COMPLIANCE"
    evidence_object_lock_days = 2555
  }

  assert {
    condition = (
      aws_s3_bucket_object_lock_configuration.evidence[0].rule[0].default_retention[0].mode == "COMPLIANCE" &&
      aws_s3_bucket_object_lock_configuration.evidence[0].rule[0].default_retention[0].days == 2555
    )
    error_message = "evidence_object_lock_mode and _days must set the default retention."
  }
}

run "rejects_a_lowercase_lock_mode" {
  command = plan

  variables {
    evidence_object_lock_mode = "governance"
  }

  expect_failures = [var.evidence_object_lock_mode]
}

run "rejects_zero_lock_days" {
  command = plan

  variables {
    evidence_object_lock_days = 0
  }

  expect_failures = [var.evidence_object_lock_days]
}

run "rejects_lock_days_beyond_100_years" {
  command = plan

  variables {
    evidence_object_lock_days = 36501
  }

  expect_failures = [var.evidence_object_lock_days]
}

run "rejects_fractional_lock_days" {
  command = plan

  variables {
    evidence_object_lock_days = 1.5
  }

  expect_failures = [var.evidence_object_lock_days]
}

################################################################################
# Evidence: server access logs in a bucket of their own
################################################################################

run "access_logs_go_to_their_own_locked_down_bucket" {
  assert {
    condition     = aws_s3_bucket.access_logs.bucket == "firebreak-access-logs-123456789012-us-east-1" && output.access_log_bucket_name == aws_s3_bucket.access_logs.bucket
    error_message = "The access-log bucket defaults to <prefix>-access-logs-<account>-<region> and is an output."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.access_logs.block_public_acls,
      aws_s3_bucket_public_access_block.access_logs.block_public_policy,
      aws_s3_bucket_public_access_block.access_logs.ignore_public_acls,
      aws_s3_bucket_public_access_block.access_logs.restrict_public_buckets,
    ])
    error_message = "All four Block Public Access settings must be on for the access-log bucket."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.access_logs.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "The access-log bucket must disable ACLs (BucketOwnerEnforced)."
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.access_logs.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"
    error_message = "The access-log bucket uses SSE-S3, the default encryption S3 server access logging supports."
  }

  assert {
    condition     = aws_s3_bucket_logging.evidence.bucket == aws_s3_bucket.evidence.bucket && aws_s3_bucket_logging.evidence.target_bucket == aws_s3_bucket.access_logs.bucket && aws_s3_bucket_logging.evidence.target_prefix == "evidence/"
    error_message = "The evidence bucket must log to the access-log bucket under evidence/."
  }

  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.access_logs.rule[0].status == "Enabled" &&
      aws_s3_bucket_lifecycle_configuration.access_logs.rule[0].filter[0].prefix == "evidence/" &&
      aws_s3_bucket_lifecycle_configuration.access_logs.rule[0].expiration[0].days == 365 &&
      aws_s3_bucket_lifecycle_configuration.access_logs.rule[0].noncurrent_version_expiration[0].noncurrent_days == 365
    )
    error_message = "Access logs (and their noncurrent versions) must expire after access_log_expiration_days (365)."
  }

  assert {
    condition     = aws_s3_bucket.access_logs.object_lock_enabled != true && length(aws_s3_bucket_replication_configuration.evidence) == 0
    error_message = "S3 cannot deliver server access logs to a bucket with Object Lock; and replication is off by default."
  }
}

run "only_the_logging_service_writes_only_the_evidence_bucket_logs" {
  assert {
    condition = one([for s in jsondecode(aws_s3_bucket_policy.access_logs.policy).Statement : s if s.Effect == "Allow"]) == {
      Sid       = "S3ServerAccessLogsOfTheEvidenceBucket"
      Effect    = "Allow"
      Principal = { Service = "logging.s3.amazonaws.com" }
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::firebreak-access-logs-123456789012-us-east-1/evidence/*"
      Condition = {
        ArnLike      = { "aws:SourceArn" = "arn:aws:s3:::firebreak-evidence-123456789012-us-east-1" }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      }
    }
    error_message = "The only grant on the access-log bucket: logging.s3.amazonaws.com may put objects under evidence/, for the evidence bucket of this account."
  }

  assert {
    condition     = one([for s in jsondecode(aws_s3_bucket_policy.access_logs.policy).Statement : s if s.Effect == "Deny"]).Condition == { Bool = { "aws:SecureTransport" = "false" } }
    error_message = "The access-log bucket must refuse requests without TLS, like the evidence bucket."
  }
}

run "access_log_expiry_and_plain_http_emulator" {
  variables {
    access_log_expiration_days              = 30
    evidence_bucket_deny_insecure_transport = false
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.access_logs.rule[0].expiration[0].days == 30
    error_message = "access_log_expiration_days must set the access logs' expiry."
  }

  assert {
    condition     = length(jsondecode(aws_s3_bucket_policy.access_logs.policy).Statement) == 1
    error_message = "Without the TLS-only policy (emulator over HTTP) only the logging grant remains."
  }
}

run "rejects_zero_access_log_expiry" {
  command = plan

  variables {
    access_log_expiration_days = 0
  }

  expect_failures = [var.access_log_expiration_days]
}

run "an_access_log_bucket_name_beyond_63_characters_fails_the_plan" {
  command = plan

  variables {
    name_prefix = "abcdefghijklmnopqrstuvwx"
  }

  override_data {
    target = data.aws_region.current
    values = { name = "ap-southeast-2" }
  }

  expect_failures = [aws_s3_bucket.access_logs]
}

run "the_access_log_bucket_name_can_be_chosen" {
  command = plan

  variables {
    name_prefix            = "abcdefghijklmnopqrstuvwx"
    access_log_bucket_name = "fb-access-logs"
  }

  override_data {
    target = data.aws_region.current
    values = { name = "ap-southeast-2" }
  }

  assert {
    condition     = aws_s3_bucket.access_logs.bucket == "fb-access-logs"
    error_message = "access_log_bucket_name must name the access-log bucket."
  }
}

################################################################################
# Evidence: replication to a forensic account
################################################################################

run "replication_role_reaches_exactly_the_two_buckets" {
  variables {
    evidence_replication = {
      destination_bucket_arn = "arn:aws:s3:::forensics-evidence-replica"
      destination_account_id = "999988887777"
    }
  }

  assert {
    condition = toset(flatten([for s in jsondecode(aws_iam_role_policy.evidence_replication[0].policy).Statement : s.Resource])) == toset([
      "arn:aws:s3:::firebreak-evidence-123456789012-us-east-1",
      "arn:aws:s3:::firebreak-evidence-123456789012-us-east-1/*",
      "arn:aws:s3:::forensics-evidence-replica/*",
    ])
    error_message = "The replication role may touch the evidence bucket and the destination bucket's objects, nothing else."
  }

  assert {
    condition = { for s in jsondecode(aws_iam_role_policy.evidence_replication[0].policy).Statement : s.Sid => s.Action } == {
      SourceBucket         = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
      SourceObjectVersions = ["s3:GetObjectLegalHold", "s3:GetObjectRetention", "s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"]
      DestinationObjects   = ["s3:ObjectOwnerOverrideToBucketOwner", "s3:ReplicateObject", "s3:ReplicateTags"]
    }
    error_message = "The replication role must read versions (with their lock) and write replicas only: no s3:ReplicateDelete, no KMS without keys."
  }

  assert {
    condition     = jsondecode(aws_iam_role.evidence_replication[0].assume_role_policy).Statement[0].Principal == { Service = "s3.amazonaws.com" }
    error_message = "Only S3 may assume the replication role."
  }

  assert {
    condition = (
      aws_s3_bucket_replication_configuration.evidence[0].role == "arn:aws:iam::123456789012:role/firebreak-evidence-replication" &&
      aws_s3_bucket_replication_configuration.evidence[0].rule[0].status == "Enabled" &&
      aws_s3_bucket_replication_configuration.evidence[0].rule[0].delete_marker_replication[0].status == "Disabled" &&
      aws_s3_bucket_replication_configuration.evidence[0].rule[0].destination[0].bucket == "arn:aws:s3:::forensics-evidence-replica" &&
      aws_s3_bucket_replication_configuration.evidence[0].rule[0].destination[0].account == "999988887777" &&
      aws_s3_bucket_replication_configuration.evidence[0].rule[0].destination[0].access_control_translation[0].owner == "Destination" &&
      length(aws_s3_bucket_replication_configuration.evidence[0].rule[0].destination[0].encryption_configuration) == 0 &&
      length(aws_s3_bucket_replication_configuration.evidence[0].rule[0].source_selection_criteria) == 0
    )
    error_message = "Every new evidence version must replicate to the forensic bucket, owned by the forensic account; deletions must not."
  }
}

run "replication_of_kms_encrypted_evidence_uses_both_keys_through_s3_only" {
  variables {
    kms_key_arn = var.test_key_arn
    evidence_replication = {
      destination_bucket_arn = "arn:aws:s3:::forensics-evidence-replica"
      destination_account_id = "999988887777"
      kms_key_arn            = var.test_replica_key_arn
    }
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.evidence_replication[0].policy).Statement : s if s.Sid == "DecryptEvidence"]) == {
      Sid      = "DecryptEvidence"
      Effect   = "Allow"
      Action   = "kms:Decrypt"
      Resource = var.test_key_arn
      Condition = {
        StringEquals = { "kms:ViaService" = "s3.us-east-1.amazonaws.com" }
        StringLike   = { "kms:EncryptionContext:aws:s3:arn" = ["arn:aws:s3:::firebreak-evidence-123456789012-us-east-1", "arn:aws:s3:::firebreak-evidence-123456789012-us-east-1/*"] }
      }
    }
    error_message = "The replication role may decrypt evidence with Firebreak's key through S3, for the evidence bucket only."
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.evidence_replication[0].policy).Statement : s if s.Sid == "EncryptReplicas"]) == {
      Sid      = "EncryptReplicas"
      Effect   = "Allow"
      Action   = ["kms:Encrypt", "kms:GenerateDataKey"]
      Resource = var.test_replica_key_arn
      Condition = {
        StringEquals = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" }
        StringLike   = { "kms:EncryptionContext:aws:s3:arn" = ["arn:aws:s3:::forensics-evidence-replica", "arn:aws:s3:::forensics-evidence-replica/*"] }
      }
    }
    error_message = "The replication role may encrypt replicas with the destination key through S3 in the key's region, for the destination bucket only."
  }

  assert {
    condition = (
      aws_s3_bucket_replication_configuration.evidence[0].rule[0].source_selection_criteria[0].sse_kms_encrypted_objects[0].status == "Enabled" &&
      aws_s3_bucket_replication_configuration.evidence[0].rule[0].destination[0].encryption_configuration[0].replica_kms_key_id == var.test_replica_key_arn
    )
    error_message = "SSE-KMS evidence must be selected for replication and re-encrypted with the destination key."
  }
}

run "replicating_kms_encrypted_evidence_needs_a_replica_key" {
  command = plan

  variables {
    create_kms_key = true
    evidence_replication = {
      destination_bucket_arn = "arn:aws:s3:::forensics-evidence-replica"
      destination_account_id = "999988887777"
    }
  }

  expect_failures = [var.evidence_replication]
}

run "rejects_a_replication_destination_that_is_not_a_bucket_arn" {
  command = plan

  variables {
    evidence_replication = {
      destination_bucket_arn = "forensics-evidence-replica"
      destination_account_id = "999988887777"
    }
  }

  expect_failures = [var.evidence_replication]
}

run "rejects_a_replication_account_that_is_not_an_account_id" {
  command = plan

  variables {
    evidence_replication = {
      destination_bucket_arn = "arn:aws:s3:::forensics-evidence-replica"
      destination_account_id = "forensics"
    }
  }

  expect_failures = [var.evidence_replication]
}

################################################################################
# One customer-managed key, or AWS-managed encryption
################################################################################

run "a_given_key_encrypts_queues_ledger_evidence_and_logs" {
  variables {
    kms_key_arn = var.test_key_arn
  }

  assert {
    condition     = aws_dynamodb_table.ledger.server_side_encryption[0].enabled && aws_dynamodb_table.ledger.server_side_encryption[0].kms_key_arn == var.test_key_arn
    error_message = "The ledger must be encrypted with kms_key_arn."
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.evidence.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.evidence.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == var.test_key_arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.evidence.rule).bucket_key_enabled == true
    )
    error_message = "The evidence bucket must default to SSE-KMS with kms_key_arn and a bucket key."
  }

  assert {
    condition = (
      module.playbook["ec2-instance"].encryption.queue_kms_master_key_id == var.test_key_arn &&
      module.playbook["ec2-instance"].encryption.dlq_kms_master_key_id == var.test_key_arn &&
      module.playbook["ec2-instance"].encryption.log_group_kms_key_id == var.test_key_arn
    )
    error_message = "The queue, the DLQ and the log group must be encrypted with kms_key_arn."
  }

  assert {
    condition     = output.kms_key_arn == var.test_key_arn && length(aws_kms_key.firebreak) == 0
    error_message = "kms_key_arn is used as given (and reported), no key is created."
  }

  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "FirebreakKey"]) == {
      Sid      = "FirebreakKey"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = var.test_key_arn
      Condition = {
        StringEquals = {
          "kms:ViaService" = ["dynamodb.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com"]
        }
      }
    }
    error_message = "The role may use the key (Decrypt, GenerateDataKey) only through DynamoDB, S3 and SQS, and only that key."
  }

  assert {
    condition = alltrue([
      for s in module.playbook["ec2-instance"].role_policy.Statement :
      s.Sid == "FirebreakKey" if contains(flatten([s.Resource]), var.test_key_arn)
    ])
    error_message = "Only the FirebreakKey statement may name Firebreak's key."
  }

  assert {
    condition = alltrue([
      for s in module.playbook["ec2-instance"].role_policy.Statement :
      !contains(flatten([s.Resource]), "*") if length([for a in flatten([s.Action]) : a if startswith(a, "kms:")]) > 0
    ])
    error_message = "KMS actions must never be granted on \"*\"."
  }
}

run "the_key_statement_stays_apart_from_the_forensic_copy_key" {
  variables {
    kms_key_arn = var.test_key_arn
    playbooks = {
      ec2-instance = {
        options = {
          forensics = {
            launch = { ami_id = "ami-0abcdef1234567890", subnet_id = "subnet-0abcdef1234567890" }
            copy   = { account_id = "999988887777", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-1111-2222-3333-444444444444" }
          }
        }
      }
    }
  }

  assert {
    condition     = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "FirebreakKey"]).Resource == var.test_key_arn
    error_message = "Firebreak's key statement must name Firebreak's key only."
  }

  assert {
    condition     = alltrue([for s in module.playbook["ec2-instance"].role_policy.Statement : s.Resource != "*" if length([for a in flatten([s.Action]) : a if startswith(a, "kms:")]) > 0])
    error_message = "KMS actions must never be granted on \"*\"."
  }
}

run "a_created_key_rotates_and_admits_only_the_account_logs_and_eventbridge" {
  variables {
    create_kms_key = true
  }

  assert {
    condition     = aws_kms_key.firebreak[0].enable_key_rotation == true && aws_kms_key.firebreak[0].deletion_window_in_days == 30
    error_message = "The created key must rotate automatically and wait 30 days before deletion."
  }

  assert {
    condition = jsondecode(aws_kms_key.firebreak[0].policy).Statement == [
      {
        Sid       = "AccountAdministersThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::123456789012:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsFunctionLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.us-east-1.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/firebreak-*" } }
      },
      {
        Sid       = "EventBridgeDeliversToQueues"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
      },
    ]
    error_message = "The key policy must let this account's IAM administer and use the key, CloudWatch Logs encrypt Firebreak's log groups, and EventBridge (for this account) deliver to the queues: nothing else."
  }

  assert {
    condition = (
      output.kms_key_arn == aws_kms_key.firebreak[0].arn &&
      aws_dynamodb_table.ledger.server_side_encryption[0].kms_key_arn == aws_kms_key.firebreak[0].arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.evidence.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.firebreak[0].arn &&
      module.playbook["ec2-instance"].encryption.queue_kms_master_key_id == aws_kms_key.firebreak[0].arn &&
      module.playbook["ec2-instance"].encryption.log_group_kms_key_id == aws_kms_key.firebreak[0].arn &&
      one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "FirebreakKey"]).Resource == aws_kms_key.firebreak[0].arn
    )
    error_message = "The created key must be the one every store and the role use."
  }
}

run "rejects_a_given_and_a_created_key_together" {
  command = plan

  variables {
    kms_key_arn    = var.test_key_arn
    create_kms_key = true
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_a_key_alias" {
  command = plan

  variables {
    kms_key_arn = "alias/firebreak"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_a_deletion_window_kms_refuses" {
  command = plan

  variables {
    create_kms_key               = true
    kms_key_deletion_window_days = 6
  }

  expect_failures = [var.kms_key_deletion_window_days]
}

################################################################################
# Ledger
################################################################################

run "ledger_deletion_protection_is_on_by_default" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.ledger.deletion_protection_enabled == true && aws_dynamodb_table.ledger.point_in_time_recovery[0].enabled
    error_message = "The ledger must have deletion protection and PITR by default."
  }
}

run "ledger_deletion_protection_can_be_turned_off_for_an_emulator" {
  command = plan

  variables {
    ledger_deletion_protection = false
  }

  assert {
    condition     = aws_dynamodb_table.ledger.deletion_protection_enabled == false && aws_dynamodb_table.ledger.point_in_time_recovery[0].enabled
    error_message = "ledger_deletion_protection = false must turn deletion protection off (PITR stays)."
  }
}

################################################################################
# Concurrency
################################################################################

run "concurrency_defaults_unreserved_and_ten_at_once" {
  assert {
    condition     = module.playbook["ec2-instance"].reserved_concurrency == -1
    error_message = "Functions are unreserved by default."
  }

  assert {
    condition     = module.playbook["ec2-instance"].event_source_mapping.maximum_concurrency == 10
    error_message = "The event source mapping must start at most 10 invocations at once by default (docs/decisions.md: EC2's rate limits)."
  }
}

run "reserved_and_maximum_concurrency_are_set" {
  variables {
    lambda_reserved_concurrency = 20
    max_concurrency             = 20
  }

  assert {
    condition     = module.playbook["ec2-instance"].reserved_concurrency == 20 && module.playbook["ec2-instance"].event_source_mapping.maximum_concurrency == 20
    error_message = "lambda_reserved_concurrency and max_concurrency must reach the function and its mapping."
  }
}

run "rejects_zero_reserved_concurrency" {
  command = plan

  variables {
    lambda_reserved_concurrency = 0
  }

  expect_failures = [var.lambda_reserved_concurrency]
}

run "rejects_fractional_reserved_concurrency" {
  command = plan

  variables {
    lambda_reserved_concurrency = 2.5
    max_concurrency             = 2
  }

  expect_failures = [var.lambda_reserved_concurrency]
}

run "rejects_maximum_concurrency_below_two" {
  command = plan

  variables {
    max_concurrency = 1
  }

  expect_failures = [var.max_concurrency]
}

run "rejects_maximum_concurrency_above_1000" {
  command = plan

  variables {
    max_concurrency = 1001
  }

  expect_failures = [var.max_concurrency]
}

run "rejects_maximum_concurrency_above_the_reservation" {
  command = plan

  variables {
    lambda_reserved_concurrency = 3
    max_concurrency             = 5
  }

  expect_failures = [var.max_concurrency]
}
