output "ledger_table_name" {
  description = "Name of the DynamoDB ledger table."
  value       = aws_dynamodb_table.ledger.name
}

output "ledger_table_arn" {
  description = "ARN of the DynamoDB ledger table."
  value       = aws_dynamodb_table.ledger.arn
}

output "evidence_bucket_name" {
  description = "Name of the S3 evidence bucket."
  value       = aws_s3_bucket.evidence.bucket
}

output "evidence_bucket_arn" {
  description = "ARN of the S3 evidence bucket."
  value       = aws_s3_bucket.evidence.arn
}

output "event_bus_name" {
  description = "Name of the EventBridge bus the rules listen on."
  value       = var.event_bus_name
}

output "mode" {
  description = "The mode the functions run in."
  value       = var.mode
}

output "playbooks" {
  description = "Per playbook: function_name, function_arn, queue_url, queue_arn, dlq_url, dlq_arn, rule_name, rule_arn, role_arn, log_group_name, event_source_mapping_uuid, visibility_timeout_seconds, max_receive_count."
  value = {
    for name, p in module.playbook : name => {
      function_name              = try(p.function_name, null)
      function_arn               = try(p.function_arn, null)
      queue_url                  = try(p.queue_url, null)
      queue_arn                  = try(p.queue_arn, null)
      dlq_url                    = try(p.dlq_url, null)
      dlq_arn                    = try(p.dlq_arn, null)
      rule_name                  = try(p.rule_name, null)
      rule_arn                   = try(p.rule_arn, null)
      role_arn                   = try(p.role_arn, null)
      log_group_name             = try(p.log_group_name, null)
      event_source_mapping_uuid  = try(p.event_source_mapping_uuid, null)
      visibility_timeout_seconds = try(p.visibility_timeout_seconds, null)
      max_receive_count          = try(p.max_receive_count, null)
    }
  }
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the queues, ledger, evidence and function logs (`kms_key_arn`, or the key `create_kms_key` made); null when they use AWS-managed encryption."
  value       = local.kms_key_arn
}

output "access_log_bucket_name" {
  description = "Name of the S3 bucket that receives the evidence bucket's server access logs (prefix `evidence/`)."
  value       = aws_s3_bucket.access_logs.bucket
}

output "pause_parameter_name" {
  description = "The kill switch's SSM parameter (`firebreak pause` / `firebreak resume` set it)."
  value       = aws_ssm_parameter.pause.name
}

output "responders_bus_name" {
  description = "The responders' event bus: `firebreak contain` and `firebreak release --via-bus` put events there (only `responder_principal_arns` may)."
  value       = aws_cloudwatch_event_bus.responders.name
}

output "function_role_arns" {
  description = "ARNs of the playbook functions' roles, containment and release (the principals a member role trusts: `modules/member-role` input `trusted_role_arns`)."
  value       = sort(concat([for p in module.playbook : p.role_arn], [for p in module.release : p.role_arn]))
}

output "member_external_id" {
  description = "External id the functions present when they assume a member role (`member_external_id`, or the one derived from this account's id and `name_prefix`): `modules/member-role` input `external_id`."
  value       = local.member_external_id
}

output "member_role_policies" {
  description = "Per playbook, the policy document (JSON) of what its functions' steps (containment and release) are granted, without Firebreak's own resources: `modules/member-role` input `policies`. ARNs of the resources a step acts on (EC2, IAM, SSM, Auto Scaling, ELB, GuardDuty, Secrets Manager) that name this deployment's account are written with `MEMBER_ACCOUNT_ID`, which the member-role module replaces with the member's account id; other ARNs (a KMS key, the forensic account) stay as they are."
  value = {
    for name, p in module.playbook : name => replace(
      jsonencode({
        Version = "2012-10-17"
        Statement = [
          for i, s in concat(p.member_role_statements, try(module.release[name].member_role_statements, [])) : merge(s, { Sid = "${s.Effect}${i}" })
        ]
      }),
      local.member_arn_pattern, local.member_arn_replacement
    )
  }
}

output "member_role_boundary_policy" {
  description = "The functions' permissions boundary (JSON), for a member role to sit under the same one (`modules/member-role` input `permissions_boundary_policy_json`), this deployment's account in EC2, IAM, SSM, Auto Scaling, ELB, GuardDuty and Secrets Manager ARNs written as `MEMBER_ACCOUNT_ID`."
  value       = replace(aws_iam_policy.boundary.policy, local.member_arn_pattern, local.member_arn_replacement)
}

output "member_role_arns" {
  description = "ARNs of the member roles the functions may assume (one per `member_account_ids`)."
  value       = local.member_role_arns
}

output "release_functions" {
  description = "Per playbook (outside observe mode): its release function, which alone handles releases over the responders' bus, with a role holding only the undo steps: function_name, queue_url, dlq_url, role_arn."
  value = {
    for name, p in module.release : name => {
      function_name = p.function_name
      queue_url     = p.queue_url
      dlq_url       = p.dlq_url
      role_arn      = p.role_arn
    }
  }
}

output "permissions_boundary_arn" {
  description = "The permissions boundary every Firebreak function role carries: the most any of them may ever do."
  value       = aws_iam_policy.boundary.arn
}

output "catch_all" {
  description = "The catch-all (null when `catch_all_enabled` is false): rule_name, rule_arn, event_pattern, queue_url, queue_arn, dlq_url, dlq_arn, function_name, role_arn, log_group_name."
  value = var.catch_all_enabled ? {
    rule_name      = module.catch_all[0].rule_name
    rule_arn       = module.catch_all[0].rule_arn
    event_pattern  = module.catch_all[0].event_pattern
    queue_url      = module.catch_all[0].queue_url
    queue_arn      = module.catch_all[0].queue_arn
    dlq_url        = module.catch_all[0].dlq_url
    dlq_arn        = module.catch_all[0].dlq_arn
    function_name  = module.catch_all[0].function_name
    role_arn       = module.catch_all[0].role_arn
    log_group_name = module.catch_all[0].log_group_name
  } : null
}
