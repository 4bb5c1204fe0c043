################################################################################
# No finding vanishes: the catch-all rule takes every GuardDuty finding that no enabled
# playbook's rule takes (resource types with no playbook yet — EKS, Lambda, runtime, attack
# sequences, types GuardDuty adds later — and those of disabled playbooks) and its `unhandled`
# function records each in the ledger as skipped (unhandled) and tells people once.
#
# Its pattern is the exact complement of the enabled playbooks' GuardDuty patterns, built here
# from each playbook's resource types (playbook_catalog, generated from its event-pattern.json;
# the build refuses a pattern whose complement EventBridge cannot express): a finding whose
# detail.resource.resourceType is none of them, or that has none (`anything-but` never matches
# a missing field) — and, AccessKey findings being split by the principal's userType, one whose
# userType is none of the taken ones, or that has none. Disabling a playbook hands its findings to
# the catch-all on the next apply.
################################################################################

locals {
  catch_all_taken_resource_types = sort(distinct(flatten([for name in keys(local.playbooks) : local.playbook_catalog[name].resource_types])))
  # AccessKey findings are taken by the principal's userType (IAMUser, FederatedUser → iam-user;
  # AssumedRole → iam-role; Root → account): the other userTypes, and none, are the catch-all's.
  catch_all_taken_user_types = sort(distinct(flatten([for name in keys(local.playbooks) : local.playbook_catalog[name].access_key_user_types])))
  catch_all_taken_types      = sort(distinct(concat(local.catch_all_taken_resource_types, length(local.catch_all_taken_user_types) > 0 ? ["AccessKey"] : [])))

  catch_all_findings = { source = ["aws.guardduty"], "detail-type" = ["GuardDuty Finding"] }

  catch_all_by_type = [
    { detail = { resource = { resourceType = [{ "anything-but" = local.catch_all_taken_types }] } } },
    { detail = { resource = { resourceType = [{ exists = false }] } } },
  ]
  catch_all_by_user_type = [
    { detail = { resource = { resourceType = ["AccessKey"], accessKeyDetails = { userType = [{ "anything-but" = local.catch_all_taken_user_types }] } } } },
    { detail = { resource = { resourceType = ["AccessKey"], accessKeyDetails = { userType = [{ exists = false }] } } } },
  ]

  # With no playbook enabled, every GuardDuty finding (an empty anything-but list is not a pattern).
  catch_all_pattern = (length(local.catch_all_taken_types) == 0 ? jsonencode(local.catch_all_findings)
    : length(local.catch_all_taken_user_types) == 0 ? jsonencode(merge(local.catch_all_findings, { "$or" = local.catch_all_by_type }))
  : jsonencode(merge(local.catch_all_findings, { "$or" = concat(local.catch_all_by_type, local.catch_all_by_user_type) })))
}

module "catch_all" {
  source = "./modules/catch-all"
  count  = var.catch_all_enabled ? 1 : 0

  name           = "${var.name_prefix}-unhandled"
  event_bus_name = var.event_bus_name
  event_pattern  = local.catch_all_pattern
  package_file   = "${local.dist_dir}/unhandled.zip"

  permissions_boundary_arn = aws_iam_policy.boundary.arn

  runtime            = var.lambda_runtime
  architecture       = var.lambda_architecture
  timeout_seconds    = var.lambda_timeout_seconds
  memory_mb          = var.lambda_memory_mb
  log_retention_days = var.log_retention_days
  environment = merge(var.extra_environment, {
    # What shared/handler/unhandled.ts reads: the ledger and the topic, nothing of the account.
    FIREBREAK_FUNCTION      = "unhandled"
    FIREBREAK_LEDGER_TABLE  = aws_dynamodb_table.ledger.name
    FIREBREAK_TOPIC_ARN     = local.notification_topic_arn
    POWERTOOLS_SERVICE_NAME = "firebreak"
    POWERTOOLS_LOG_LEVEL    = var.log_level
  })

  batch_size                      = var.batch_size
  maximum_batching_window_seconds = var.maximum_batching_window_seconds
  max_receive_count               = var.max_receive_count
  visibility_timeout_seconds      = coalesce(var.visibility_timeout_seconds, 6 * var.lambda_timeout_seconds)
  event_source_mapping_enabled    = var.event_source_mapping_enabled
  max_concurrency                 = var.max_concurrency
  reserved_concurrency            = var.lambda_reserved_concurrency

  firebreak_kms_key_arn    = local.kms_key_arn
  dns_suffix               = local.dns_suffix
  notification_topic_arn   = local.notification_topic_arn
  notification_kms_key_arn = var.notifications_kms_key_arn
  ledger_table_arn         = aws_dynamodb_table.ledger.arn

  partition  = local.partition
  region     = local.region
  account_id = local.account_id

  tags = var.tags
}
