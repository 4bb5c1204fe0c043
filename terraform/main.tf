data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  # The playbooks to deploy: var.playbooks (playbooks.generated.tf) has one typed attribute per
  # playbook of the registry; a playbook runs unless it says enabled = false.
  playbooks = { for name, p in var.playbooks : name => p if p.enabled }

  dist_dir   = coalesce(var.dist_dir, "${path.module}/../dist")
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  # EC2 resources this module creates or grants on exact ARNs, from the EC2 playbook's options.
  ec2_enabled              = contains(keys(local.playbooks), "ec2-instance")
  ec2                      = var.playbooks["ec2-instance"].options
  create_isolation_profile = local.ec2_enabled && local.ec2.create_isolation_profile
  isolation_profile_arn    = local.create_isolation_profile ? aws_iam_instance_profile.isolation[0].arn : local.ec2.isolation_instance_profile_arn

  # What each function reads as FIREBREAK_OPTIONS: the playbook's options in Terraform's own keys
  # (the schema in shared/playbooks/<name>/options.ts reads them as they are). For EC2 the
  # Terraform-only attributes become what they mean to the function: the profile to use, and the
  # SSM documents this module deployed (ssm-documents.tf; whatever the input said is replaced). The
  # container playbook likewise gets the name of its document.
  function_options = {
    for name, p in local.playbooks : name => jsonencode(merge(p.options, try(local.function_option_overrides[name], {})))
  }
  function_option_overrides = {
    "ec2-instance" = {
      isolation_instance_profile_arn = local.isolation_profile_arn
      ssm_documents                  = local.ssm_document_names
      create_isolation_profile       = null
      release_pass_role_arns         = null
    }
    # The container function sends its Run Command to the document this module deployed (ssm-documents.tf).
    "container" = {
      ssm_documents = local.container_ssm_document_names
    }
    # The only source the RDS isolation group admits (whatever the input said is replaced).
    "rds-instance" = {
      function_security_group_ids = var.rds_function_security_group_ids
    }
  }

  # The rds-instance functions run in the VPC when subnets are given (they reach the databases).
  rds_vpc_config = length(var.rds_function_subnet_ids) > 0 ? {
    subnet_ids         = var.rds_function_subnet_ids
    security_group_ids = var.rds_function_security_group_ids
  } : null

  # Each playbook's IAM manifest, written by `make build` from the steps' declarations and shared/iam.
  manifests = { for name in keys(local.playbooks) : name => jsondecode(file("${local.dist_dir}/${name}.iam.json")) }

  # What the manifests' placeholders stand for here (shared/iam/index.ts says which is which).
  forensic_launch = local.ec2_enabled ? try(local.ec2.forensics.launch, null) : null
  iam_lists = {
    "{forensic_image_arns}"  = local.forensic_launch == null ? [] : ["arn:${local.partition}:ec2:${local.region}::image/${local.forensic_launch.ami_id}"]
    "{forensic_subnet_arns}" = local.forensic_launch == null ? [] : ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${local.forensic_launch.subnet_id}"]
    # Without groups of its own, the forensic instance gets its VPC's default group, whose id is not known here.
    "{forensic_security_group_arns}" = local.forensic_launch == null ? [] : (
      length(coalesce(local.forensic_launch.security_group_ids, [])) > 0
      ? [for id in local.forensic_launch.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${id}"]
      : ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*"]
    )
    "{forensic_kms_key_arns}" = local.kms_key_arns
    "{pass_role_arns}"        = local.pass_role_arns
    "{ssm_document_arns}"     = local.ssm_document_arns
  }
  iam_values = {
    forensic_account_id = local.ec2_enabled ? try(coalesce(local.ec2.forensics.copy.account_id, "{forensic_account_id}"), "{forensic_account_id}") : "{forensic_account_id}"
  }
  # Every role this deployment creates is named <name_prefix>-…: none may be changed by a function.
  own_role_arn_patterns = ["arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-*"]

  # Granted on these exact resources only: the key the snapshot copies are encrypted with; the
  # role of the isolation instance profile (containment associates it: that passes its role); the
  # roles a release may hand back with an instance's original profile (the release function only).
  kms_key_arns = local.ec2_enabled ? compact([try(local.ec2.forensics.copy.kms_key_arn, null)]) : []
  pass_role_arns = local.ec2_enabled ? concat(
    [for p in data.aws_iam_instance_profile.isolation : p.role_arn],
    aws_iam_role.isolation[*].arn,
  ) : []
  release_pass_role_arns = local.ec2_enabled ? local.ec2.release_pass_role_arns : []

  # Organization: the roles the functions assume in member accounts, and the external id their
  # trust policy requires. The derived id is not a secret (AWS: an external id is not meant to be
  # one); it makes each member role trust this deployment only, through its function roles.
  member_account_ids = sort(distinct([for id in var.member_account_ids : id if id != local.account_id]))
  member_role_arns   = [for id in local.member_account_ids : "arn:${local.partition}:iam::${id}:role/${var.member_role_name}"]
  # ARNs of the resources a step acts on, in this account, as a member role's policies name them
  # (a region `*`: the account playbook's key pairs in every region).
  member_arn_pattern     = "/(arn:[a-z-]+:(?:ec2|iam|ssm|autoscaling|elasticloadbalancing|guardduty|secretsmanager):[a-z0-9*-]*:)${data.aws_caller_identity.current.account_id}:/"
  member_arn_replacement = "$${1}MEMBER_ACCOUNT_ID:"
  member_external_id     = coalesce(var.member_external_id, "firebreak-${substr(sha256("${local.account_id}/${var.name_prefix}"), 0, 32)}")

  evidence_bucket_name = coalesce(var.evidence_bucket_name, "${var.name_prefix}-evidence-${local.account_id}-${local.region}")

  # Read by shared/config in the functions; names must match the TypeScript side.
  environment = {
    FIREBREAK_ACCOUNT_ID                  = local.account_id
    FIREBREAK_LEDGER_TABLE                = aws_dynamodb_table.ledger.name
    FIREBREAK_EVIDENCE_BUCKET             = aws_s3_bucket.evidence.bucket
    FIREBREAK_MIN_SEVERITY                = tostring(var.min_severity)
    FIREBREAK_FINDING_TYPES_ALLOW         = jsonencode(var.finding_types_allow)
    FIREBREAK_FINDING_TYPES_DENY          = jsonencode(var.finding_types_deny)
    FIREBREAK_PROTECTED_PRINCIPALS        = jsonencode(var.protected_principals)
    FIREBREAK_PROTECTED_RESOURCES         = jsonencode(var.protected_resources)
    FIREBREAK_EXEMPT_TAG                  = var.exempt_tag_key
    FIREBREAK_BLAST_RADIUS_LIMIT          = tostring(var.blast_radius_limit)
    FIREBREAK_BLAST_RADIUS_WINDOW_SECONDS = tostring(var.blast_radius_window_seconds)
    FIREBREAK_FOLLOW_UP_SECONDS           = tostring(var.follow_up_delay_seconds)
    FIREBREAK_MAX_FOLLOW_UPS              = tostring(var.max_follow_ups)
    FIREBREAK_TOPIC_ARN                   = local.notification_topic_arn
    FIREBREAK_PAUSE_PARAMETER             = aws_ssm_parameter.pause.name
    FIREBREAK_PARTITION                   = local.partition
    FIREBREAK_NAME_PREFIX                 = var.name_prefix
    FIREBREAK_RESPONDERS_BUS              = aws_cloudwatch_event_bus.responders.name
    FIREBREAK_DEPLOYED_PLAYBOOKS          = jsonencode(sort(keys(local.playbooks)))
    POWERTOOLS_SERVICE_NAME               = "firebreak"
    POWERTOOLS_LOG_LEVEL                  = var.log_level
  }
}

################################################################################
# Encryption key: one customer-managed key for Firebreak's own data, when asked for
# (kms_key_arn, or create_kms_key). Without one, every store keeps AWS-managed encryption.
################################################################################

locals {
  kms_key_arn = var.create_kms_key ? aws_kms_key.firebreak[0].arn : var.kms_key_arn
  dns_suffix  = data.aws_partition.current.dns_suffix

  access_log_bucket_name = coalesce(var.access_log_bucket_name, "${var.name_prefix}-access-logs-${local.account_id}-${local.region}")
  evidence_object_lock   = var.evidence_object_lock_mode != null
}

resource "aws_kms_key" "firebreak" {
  count = var.create_kms_key ? 1 : 0

  description             = "Firebreak (${var.name_prefix}): queues, ledger, evidence and function logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Administration and use are granted by this account's IAM policies (the function roles
        # get exactly what they need, through SQS, S3 and DynamoDB only); nothing outside it.
        Sid       = "AccountAdministersThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # CloudWatch Logs encrypts log groups itself, as its service principal: only Firebreak's
        # function log groups.
        Sid       = "CloudWatchLogsFunctionLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.${local.dns_suffix}" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*" }
        }
      },
      {
        # EventBridge sends findings to the encrypted queues as its service principal, which no
        # IAM policy of this account can authorise: only for rules of this account.
        Sid       = "EventBridgeDeliversToQueues"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
      },
    ]
  })

  tags = merge(var.tags, { "firebreak:component" = "kms-key" })
}

################################################################################
# Ledger: one item per incident and step, plus blast-radius counters
################################################################################

resource "aws_dynamodb_table" "ledger" {
  name         = "${var.name_prefix}-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  # Nobody deletes the record of what Firebreak did, `terraform destroy` included, until this is
  # turned off (examples/local turns it off so that the emulator can be reset).
  deletion_protection_enabled = var.ledger_deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  # The customer-managed key when there is one; otherwise DynamoDB's AWS managed key.
  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn
  }

  tags = merge(var.tags, { "firebreak:component" = "ledger" })
}

################################################################################
# Evidence bucket: versioned, Object Lock, SSE (KMS when there is a key), access logs to a
# bucket of their own, optional replication to a forensic account
################################################################################

resource "aws_s3_bucket" "evidence" {
  #checkov:skip=CKV2_AWS_62:Nothing consumes S3 event notifications of the evidence bucket: every evidence write is recorded in the ledger by the step that made it, and every access in the bucket's server access logs.
  bucket        = local.evidence_bucket_name
  force_destroy = var.evidence_bucket_force_destroy

  # Object Lock from creation. A bucket deployed before Object Lock existed here is not replaced
  # (that would delete the evidence): aws_s3_bucket_object_lock_configuration enables Object Lock
  # on the existing, versioned bucket, which S3 allows since 2023.
  object_lock_enabled = local.evidence_object_lock

  tags = merge(var.tags, { "firebreak:component" = "evidence" })

  lifecycle {
    ignore_changes = [object_lock_enabled]
  }
}

resource "aws_s3_bucket_public_access_block" "evidence" {
  bucket = aws_s3_bucket.evidence.bucket

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "evidence" {
  bucket = aws_s3_bucket.evidence.bucket

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "evidence" {
  bucket = aws_s3_bucket.evidence.bucket

  versioning_configuration {
    status = "Enabled"
  }
}

# Every new evidence version is locked for evidence_object_lock_days: a compromised principal of
# this account (Firebreak's own functions included) can add versions, never rewrite or delete one.
resource "aws_s3_bucket_object_lock_configuration" "evidence" {
  count = local.evidence_object_lock ? 1 : 0

  bucket              = aws_s3_bucket.evidence.bucket
  object_lock_enabled = "Enabled"

  rule {
    default_retention {
      mode = var.evidence_object_lock_mode
      days = var.evidence_object_lock_days
    }
  }

  # Object Lock requires versioning.
  depends_on = [aws_s3_bucket_versioning.evidence]
}

# Parts of an upload that never completed (a function timed out mid-upload) are removed after a
# week; no rule expires evidence, which stays until someone deletes it and its retention allows.
resource "aws_s3_bucket_lifecycle_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.bucket

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.evidence]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.kms_key_arn != null ? "aws:kms" : "AES256"
      kms_master_key_id = local.kms_key_arn
    }
    # A bucket key cuts the KMS requests (and their cost) per object to one per bucket and period.
    bucket_key_enabled = local.kms_key_arn != null ? true : null
  }
}

resource "aws_s3_bucket_policy" "evidence" {
  count = var.evidence_bucket_deny_insecure_transport ? 1 : 0

  bucket = aws_s3_bucket.evidence.bucket
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.evidence.arn, "${aws_s3_bucket.evidence.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # S3 refuses a bucket policy while a public-access-block update is in flight on the bucket.
  depends_on = [aws_s3_bucket_public_access_block.evidence]
}

# Who read or wrote which piece of evidence, from S3 itself.
resource "aws_s3_bucket_logging" "evidence" {
  bucket        = aws_s3_bucket.evidence.bucket
  target_bucket = aws_s3_bucket.access_logs.bucket
  target_prefix = "evidence/"

  # S3 checks, when logging is configured, that the target bucket lets the logging service write.
  depends_on = [aws_s3_bucket_policy.access_logs]
}

################################################################################
# Access-log bucket: the evidence bucket's S3 server access logs. No Object Lock (S3 cannot log
# to a bucket with Object Lock) and SSE-S3 (the encryption S3 documents for log targets).
################################################################################

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 documents SSE-S3 as the only default encryption a server access logging destination bucket supports; SSE-KMS is not supported there.
  #checkov:skip=CKV_AWS_144:The access logs describe the evidence bucket, whose evidence replicates to the forensic account when evidence_replication is set; the logs themselves stay in this account, expire after access_log_expiration_days, and are not evidence.
  #checkov:skip=CKV2_AWS_62:Nothing consumes S3 event notifications of the access-log bucket: its only writer is S3's logging service, and the logs are read when an investigation needs them.
  bucket        = local.access_log_bucket_name
  force_destroy = var.evidence_bucket_force_destroy

  tags = merge(var.tags, { "firebreak:component" = "access-logs" })

  lifecycle {
    precondition {
      condition     = length(local.access_log_bucket_name) <= 63
      error_message = "The access-log bucket name \"${local.access_log_bucket_name}\" is longer than S3's 63 characters: set access_log_bucket_name, or a shorter name_prefix."
    }
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {
      prefix = "evidence/"
    }

    expiration {
      days = var.access_log_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.access_log_expiration_days
    }
  }

  # The whole bucket, not only the logs' prefix: no incomplete upload anywhere stays billed.
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {
      prefix = ""
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.bucket
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        # Only S3's logging service, only for the evidence bucket of this account, only under its
        # prefix (BucketOwnerEnforced rules out log-delivery ACL grants).
        Sid       = "S3ServerAccessLogsOfTheEvidenceBucket"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.access_logs.arn}/evidence/*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = aws_s3_bucket.evidence.arn }
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      }],
      var.evidence_bucket_deny_insecure_transport ? [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }] : [],
    )
  })

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

################################################################################
# Evidence replication to a forensic account (evidence_replication): the role S3 assumes may read
# the evidence bucket's versions and write replicas to that one bucket, nothing else.
################################################################################

locals {
  replication            = var.evidence_replication
  replication_bucket_arn = try(var.evidence_replication.destination_bucket_arn, null)
  replication_kms_key    = try(var.evidence_replication.kms_key_arn, null)
}

resource "aws_iam_role" "evidence_replication" {
  count = local.replication != null ? 1 : 0

  name        = "${var.name_prefix}-evidence-replication"
  description = "Firebreak: S3 replicates the evidence bucket to the forensic account's bucket"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = merge(var.tags, { "firebreak:component" = "evidence-replication" })
}

resource "aws_iam_role_policy" "evidence_replication" {
  count = local.replication != null ? 1 : 0

  name = "firebreak-evidence-replication"
  role = aws_iam_role.evidence_replication[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "SourceBucket"
          Effect   = "Allow"
          Action   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
          Resource = aws_s3_bucket.evidence.arn
        },
        {
          # Retention and legal hold travel with the replica (Object Lock).
          Sid      = "SourceObjectVersions"
          Effect   = "Allow"
          Action   = ["s3:GetObjectLegalHold", "s3:GetObjectRetention", "s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"]
          Resource = "${aws_s3_bucket.evidence.arn}/*"
        },
        {
          # No s3:ReplicateDelete: a deletion here never reaches the forensic copy.
          Sid      = "DestinationObjects"
          Effect   = "Allow"
          Action   = ["s3:ObjectOwnerOverrideToBucketOwner", "s3:ReplicateObject", "s3:ReplicateTags"]
          Resource = "${local.replication_bucket_arn}/*"
        },
      ],
      local.kms_key_arn != null ? [{
        Sid      = "DecryptEvidence"
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = local.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${local.region}.${local.dns_suffix}" }
          StringLike   = { "kms:EncryptionContext:aws:s3:arn" = [aws_s3_bucket.evidence.arn, "${aws_s3_bucket.evidence.arn}/*"] }
        }
      }] : [],
      local.replication_kms_key != null ? [{
        Sid      = "EncryptReplicas"
        Effect   = "Allow"
        Action   = ["kms:Encrypt", "kms:GenerateDataKey"]
        Resource = local.replication_kms_key
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${split(":", local.replication_kms_key)[3]}.${local.dns_suffix}" }
          StringLike   = { "kms:EncryptionContext:aws:s3:arn" = [local.replication_bucket_arn, "${local.replication_bucket_arn}/*"] }
        }
      }] : [],
    )
  })
}

resource "aws_s3_bucket_replication_configuration" "evidence" {
  count = local.replication != null ? 1 : 0

  bucket = aws_s3_bucket.evidence.bucket
  role   = aws_iam_role.evidence_replication[0].arn

  rule {
    id     = "forensic-account"
    status = "Enabled"

    filter {}

    delete_marker_replication {
      status = "Disabled"
    }

    dynamic "source_selection_criteria" {
      for_each = local.kms_key_arn != null ? [1] : []
      content {
        sse_kms_encrypted_objects {
          status = "Enabled"
        }
      }
    }

    destination {
      bucket  = local.replication_bucket_arn
      account = local.replication.destination_account_id

      # Replicas belong to the forensic account, whoever owns them here.
      access_control_translation {
        owner = "Destination"
      }

      dynamic "encryption_configuration" {
        for_each = local.replication_kms_key != null ? [1] : []
        content {
          replica_kms_key_id = local.replication_kms_key
        }
      }
    }
  }

  # S3 replicates only from a versioned bucket, and needs the role's policy to do so.
  depends_on = [aws_s3_bucket_versioning.evidence, aws_iam_role_policy.evidence_replication]
}

################################################################################
# Playbooks: rule -> queue (+ DLQ) -> function, one set per resource type
################################################################################

module "playbook" {
  source   = "./modules/playbook"
  for_each = local.playbooks

  name            = "${var.name_prefix}-${each.key}"
  playbook        = each.key
  function_role   = "contain"
  primary_rule    = "findings"
  handoff_bus_arn = aws_cloudwatch_event_bus.responders.arn
  rules = {
    findings = {
      event_bus_name = var.event_bus_name
      event_pattern  = local.playbook_catalog[each.key].guardduty_pattern
      description    = "Firebreak: routes GuardDuty findings about ${each.key} resources to its queue. Every safety gate runs in the function."
    }
    manual = {
      event_bus_name = aws_cloudwatch_event_bus.responders.name
      event_pattern  = local.playbook_catalog[each.key].manual_pattern
      description    = "Firebreak: routes responders' manual findings for ${each.key} resources to its queue."
    }
  }

  mode            = coalesce(each.value.mode, var.mode)
  enabled_options = local.playbook_switches[each.key]
  environment = merge(local.environment, var.extra_environment, {
    # After extra_environment: the mode and options are what the `playbooks` input says, never overridden.
    FIREBREAK_PLAYBOOK = each.key
    FIREBREAK_MODE     = coalesce(each.value.mode, var.mode)
    FIREBREAK_OPTIONS  = local.function_options[each.key]
    # Nor which accounts the function acts in: member_account_ids alone decides.
    FIREBREAK_MEMBER_ACCOUNT_IDS = jsonencode(local.member_account_ids)
    FIREBREAK_MEMBER_ROLE_NAME   = var.member_role_name
    FIREBREAK_MEMBER_EXTERNAL_ID = local.member_external_id
  })
  memory_mb            = coalesce(each.value.memory_mb, var.lambda_memory_mb)
  vpc_config           = each.key == "rds-instance" ? local.rds_vpc_config : null
  reserved_concurrency = var.lambda_reserved_concurrency
  max_concurrency      = var.max_concurrency

  package_file             = "${local.dist_dir}/${each.key}.zip"
  iam_statements           = local.manifests[each.key].statements
  scoped_actions           = local.manifests[each.key].scopedActions
  iam_lists                = local.iam_lists
  iam_values               = local.iam_values
  own_role_arn_patterns    = local.own_role_arn_patterns
  protected_principal_arns = var.protected_principals
  permissions_boundary_arn = aws_iam_policy.boundary.arn

  runtime                         = var.lambda_runtime
  architecture                    = var.lambda_architecture
  timeout_seconds                 = var.lambda_timeout_seconds
  log_retention_days              = var.log_retention_days
  batch_size                      = var.batch_size
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  visibility_timeout_seconds      = coalesce(var.visibility_timeout_seconds, 6 * var.lambda_timeout_seconds)
  event_source_mapping_enabled    = var.event_source_mapping_enabled

  # Firebreak's own key (queues, log group; the role may use it through SQS, S3 and DynamoDB only).
  firebreak_kms_key_arn = local.kms_key_arn
  dns_suffix            = local.dns_suffix

  # Organization: sts:AssumeRole on exactly the member roles.
  member_role_arns = local.member_role_arns

  # Telling people (notifications.tf): sns:Publish on the topic; the use of its key when it is a given one.
  notification_topic_arn   = local.notification_topic_arn
  notification_kms_key_arn = var.notifications_kms_key_arn

  # The kill switch (firebreak pause / resume).
  pause_parameter_arn = aws_ssm_parameter.pause.arn

  ledger_table_arn    = aws_dynamodb_table.ledger.arn
  evidence_bucket_arn = aws_s3_bucket.evidence.arn

  partition  = local.partition
  region     = local.region
  account_id = local.account_id

  tags = var.tags
}

# Releases over the bus run in a function of their own, with a role that holds the undo steps and
# nothing of containment (and the containment function holds none of the undos). Not deployed in
# observe mode, which contains nothing; a responder releases with the CLI, as themself.
module "release" {
  source   = "./modules/playbook"
  for_each = { for name, p in local.playbooks : name => p if coalesce(p.mode, var.mode) != "observe" }

  name          = "${var.name_prefix}-${each.key}-release"
  playbook      = each.key
  function_role = "release"
  primary_rule  = "release"
  rules = {
    release = {
      event_bus_name = aws_cloudwatch_event_bus.responders.name
      event_pattern  = local.playbook_catalog[each.key].release_pattern
      description    = "Firebreak: routes responders' releases of ${each.key} incidents to the release function."
    }
  }

  mode            = coalesce(each.value.mode, var.mode)
  enabled_options = local.playbook_switches[each.key]
  environment = merge(local.environment, var.extra_environment, {
    FIREBREAK_PLAYBOOK = each.key
    FIREBREAK_MODE     = coalesce(each.value.mode, var.mode)
    FIREBREAK_OPTIONS  = local.function_options[each.key]
    # Nor which accounts the function acts in: member_account_ids alone decides.
    FIREBREAK_MEMBER_ACCOUNT_IDS = jsonencode(local.member_account_ids)
    FIREBREAK_MEMBER_ROLE_NAME   = var.member_role_name
    FIREBREAK_MEMBER_EXTERNAL_ID = local.member_external_id
  })
  memory_mb            = coalesce(each.value.memory_mb, var.lambda_memory_mb)
  vpc_config           = each.key == "rds-instance" ? local.rds_vpc_config : null
  reserved_concurrency = null

  # Organization: a member's incident is released in the member account, through its role.
  member_role_arns = local.member_role_arns
  max_concurrency  = var.max_concurrency

  package_file             = "${local.dist_dir}/${each.key}.zip"
  iam_statements           = local.manifests[each.key].statements
  scoped_actions           = local.manifests[each.key].scopedActions
  iam_lists                = merge(local.iam_lists, { "{pass_role_arns}" = local.release_pass_role_arns })
  iam_values               = local.iam_values
  own_role_arn_patterns    = local.own_role_arn_patterns
  protected_principal_arns = var.protected_principals
  permissions_boundary_arn = aws_iam_policy.boundary.arn

  runtime                         = var.lambda_runtime
  architecture                    = var.lambda_architecture
  timeout_seconds                 = var.lambda_timeout_seconds
  log_retention_days              = var.log_retention_days
  batch_size                      = var.batch_size
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  visibility_timeout_seconds      = coalesce(var.visibility_timeout_seconds, 6 * var.lambda_timeout_seconds)
  event_source_mapping_enabled    = var.event_source_mapping_enabled

  firebreak_kms_key_arn    = local.kms_key_arn
  dns_suffix               = local.dns_suffix
  notification_topic_arn   = local.notification_topic_arn
  notification_kms_key_arn = var.notifications_kms_key_arn
  pause_parameter_arn      = aws_ssm_parameter.pause.arn
  ledger_table_arn         = aws_dynamodb_table.ledger.arn
  evidence_bucket_arn      = aws_s3_bucket.evidence.arn

  partition  = local.partition
  region     = local.region
  account_id = local.account_id

  tags = var.tags
}

################################################################################
# Isolation instance profile (playbooks.ec2-instance.options.create_isolation_profile): what an isolated instance runs
# with — only what the SSM agent needs, so online capture keeps working after the instance's
# own role is revoked and removed.
################################################################################

data "aws_iam_instance_profile" "isolation" {
  count = local.ec2_enabled && !local.create_isolation_profile && local.ec2.isolation_instance_profile_arn != null ? 1 : 0

  # The name is the ARN's last path segment (arn:aws:iam::<account>:instance-profile/<path/>name).
  name = element(split("/", local.ec2.isolation_instance_profile_arn), length(split("/", local.ec2.isolation_instance_profile_arn)) - 1)
}

resource "aws_iam_role" "isolation" {
  count = local.create_isolation_profile ? 1 : 0

  name        = "${var.name_prefix}-isolation"
  description = "Firebreak: the role of isolated EC2 instances (SSM agent only)"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = merge(var.tags, { "firebreak:component" = "isolation-profile" })
}

resource "aws_iam_role_policy_attachment" "isolation_ssm" {
  count = local.create_isolation_profile ? 1 : 0

  role       = aws_iam_role.isolation[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "isolation" {
  count = local.create_isolation_profile ? 1 : 0

  name = "${var.name_prefix}-isolation"
  role = aws_iam_role.isolation[0].name

  tags = merge(var.tags, { "firebreak:component" = "isolation-profile" })
}

################################################################################
# Kill switch: `firebreak pause` / `firebreak resume` flip this parameter without an apply; every
# function reads it (cached 30 s) and, while it says paused, changes nothing and holds new incidents.
################################################################################

resource "aws_ssm_parameter" "pause" {
  #checkov:skip=CKV2_AWS_34:The kill switch holds no secret (paused true or false); who may change it is decided by IAM on ssm:PutParameter, and a SecureString would make every function's start depend on a KMS key as well.
  name        = "/${var.name_prefix}/paused"
  description = "Firebreak kill switch: firebreak pause / firebreak resume set it; the functions read it before acting."
  type        = "String"
  value       = jsonencode({ paused = false })

  tags = merge(var.tags, { "firebreak:component" = "kill-switch" })

  # The CLI flips it: an apply must never resume automation a responder paused.
  lifecycle {
    ignore_changes = [value]
  }
}

################################################################################
# The responders' bus: manual findings and releases. Only the responders may put events on it
# (and the functions, for hand-offs between playbooks); the rules on the findings bus take
# GuardDuty's findings only. An event carries no identity of its sender: the bus policy is the
# control, and `requestedBy` is what a trusted sender wrote (the CLI fills it from STS).
################################################################################

resource "aws_cloudwatch_event_bus" "responders" {
  name = "${var.name_prefix}-responders"

  tags = merge(var.tags, { "firebreak:component" = "responders-bus" })
}

resource "aws_cloudwatch_event_bus_policy" "responders" {
  event_bus_name = aws_cloudwatch_event_bus.responders.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # An allow alone lets any principal of the account whose own IAM policy allows
        # events:PutEvents in: deny everyone who is not a responder or a Firebreak function.
        Sid       = "OnlyRespondersAndFirebreak"
        Effect    = "Deny"
        Principal = "*"
        Action    = "events:PutEvents"
        Resource  = aws_cloudwatch_event_bus.responders.arn
        Condition = {
          ArnNotLike = {
            "aws:PrincipalArn" = distinct(concat(var.responder_principal_arns, [for p in module.playbook : p.role_arn], [for p in module.release : p.role_arn]))
          }
        }
      },
    ]
  })
}
