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
  # Terraform-only attributes become what they mean to the function: the profile to use.
  function_options = {
    for name, p in local.playbooks : name => name == "ec2-instance" ? jsonencode(merge(p.options, {
      isolation_instance_profile_arn = local.isolation_profile_arn
      create_isolation_profile       = null
      release_pass_role_arns         = null
    })) : jsonencode(p.options)
  }

  # Granted on these exact resources only: the key the snapshot copies are encrypted with, and
  # the role of the isolation instance profile (associating a profile passes its role).
  kms_key_arns = local.ec2_enabled ? compact([try(local.ec2.forensics.copy.kms_key_arn, null)]) : []
  pass_role_arns = local.ec2_enabled ? concat(
    [for p in data.aws_iam_instance_profile.isolation : p.role_arn],
    aws_iam_role.isolation[*].arn,
    local.ec2.release_pass_role_arns,
  ) : []

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
    POWERTOOLS_SERVICE_NAME               = "firebreak"
    POWERTOOLS_LOG_LEVEL                  = var.log_level
  }
}

################################################################################
# Ledger: one item per incident and step, plus blast-radius counters
################################################################################

resource "aws_dynamodb_table" "ledger" {
  name         = "${var.name_prefix}-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

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

  server_side_encryption {
    enabled = true
  }

  tags = merge(var.tags, { "firebreak:component" = "ledger" })
}

################################################################################
# Evidence bucket
################################################################################

resource "aws_s3_bucket" "evidence" {
  bucket        = local.evidence_bucket_name
  force_destroy = var.evidence_bucket_force_destroy

  tags = merge(var.tags, { "firebreak:component" = "evidence" })
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

resource "aws_s3_bucket_server_side_encryption_configuration" "evidence" {
  bucket = aws_s3_bucket.evidence.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
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

################################################################################
# Playbooks: rule -> queue (+ DLQ) -> function, one set per resource type
################################################################################

module "playbook" {
  source   = "./modules/playbook"
  for_each = local.playbooks

  name            = "${var.name_prefix}-${each.key}"
  playbook        = each.key
  event_pattern   = local.playbook_catalog[each.key].event_pattern
  package_file    = "${local.dist_dir}/${each.key}.zip"
  iam_statements  = jsondecode(file("${local.dist_dir}/${each.key}.iam.json")).statements
  scoped_actions  = jsondecode(file("${local.dist_dir}/${each.key}.iam.json")).scopedActions
  mode            = coalesce(each.value.mode, var.mode)
  enabled_options = local.playbook_switches[each.key]

  event_bus_name = var.event_bus_name

  runtime            = var.lambda_runtime
  architecture       = var.lambda_architecture
  timeout_seconds    = var.lambda_timeout_seconds
  memory_mb          = coalesce(each.value.memory_mb, var.lambda_memory_mb)
  log_retention_days = var.log_retention_days
  environment = merge(local.environment, var.extra_environment, {
    # After extra_environment: the mode and options are what the `playbooks` input says, never overridden.
    FIREBREAK_PLAYBOOK = each.key
    FIREBREAK_MODE     = coalesce(each.value.mode, var.mode)
    FIREBREAK_OPTIONS  = local.function_options[each.key]
  })

  batch_size                      = var.batch_size
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  visibility_timeout_seconds      = coalesce(var.visibility_timeout_seconds, 6 * var.lambda_timeout_seconds)
  event_source_mapping_enabled    = var.event_source_mapping_enabled

  kms_key_arns   = local.kms_key_arns
  pass_role_arns = local.pass_role_arns

  ledger_table_arn    = aws_dynamodb_table.ledger.arn
  evidence_bucket_arn = aws_s3_bucket.evidence.arn

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
