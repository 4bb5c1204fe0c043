# Offline tests of the root module: `scripts/terraform.sh -chdir=terraform test`.
# The aws provider is mocked, so nothing is created anywhere; ARNs get fixed, valid defaults
# because the provider validates them when one resource refers to another.

mock_provider "aws" {
  source = "./tests/mocks"
}

# Distinct ARNs for the resources whose ARNs the wiring tests compare. File-level, because runs
# share state: a run-level override would not reach a resource an earlier run already created.
override_resource {
  target = module.playbook["ec2-instance"].aws_sqs_queue.this
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:firebreak-ec2-instance"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/firebreak-ec2-instance"
  }
}

override_resource {
  target = module.playbook["ec2-instance"].aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:firebreak-ec2-instance-dlq"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/firebreak-ec2-instance-dlq"
  }
}

override_resource {
  target = module.playbook["ec2-instance"].aws_cloudwatch_event_rule.this["findings"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/firebreak-ec2-instance" }
}

override_resource {
  target = module.playbook["ec2-instance"].aws_cloudwatch_event_rule.this["manual"]
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/firebreak-responders/firebreak-ec2-instance-manual" }
}

variables {
  mode     = "contain"
  dist_dir = "tests/fixtures/playbooks"
}

################################################################################
# Input validation: a bad tfvars fails at plan, naming the variable
################################################################################

run "mode_has_no_default" {
  command = plan

  variables {
    mode = null
  }

  expect_failures = [var.mode]
}

run "rejects_unknown_mode" {
  command = plan

  variables {
    mode = "destroy"
  }

  expect_failures = [var.mode]
}

run "rejects_severity_above_10" {
  command = plan

  variables {
    min_severity = 11
  }

  expect_failures = [var.min_severity]
}

run "rejects_negative_severity" {
  command = plan

  variables {
    min_severity = -1
  }

  expect_failures = [var.min_severity]
}

run "rejects_unsupported_runtime" {
  command = plan

  variables {
    lambda_runtime = "nodejs20.x"
  }

  expect_failures = [var.lambda_runtime]
}

run "a_disabled_playbook_deploys_nothing" {
  command = plan

  variables {
    playbooks = { ec2-instance = { enabled = false }, iam-user = { enabled = false }, iam-role = { enabled = false }, account = { enabled = false }, s3-bucket = { enabled = false }, ecs-task = { enabled = false }, container = { enabled = false }, rds-instance = { enabled = false } }
  }

  assert {
    condition     = !contains(keys(module.playbook), "ec2-instance")
    error_message = "A playbook with enabled = false must have no rule, queue or function."
  }
}

run "a_playbook_may_override_the_mode_and_memory" {
  variables {
    mode      = "contain"
    playbooks = { ec2-instance = { mode = "observe", memory_mb = 1024 } }
  }

  assert {
    condition     = module.playbook["ec2-instance"].environment.FIREBREAK_MODE == "observe"
    error_message = "playbooks.<name>.mode must override the module-wide mode."
  }

  assert {
    condition     = module.playbook["ec2-instance"].memory_mb == 1024
    error_message = "playbooks.<name>.memory_mb must override lambda_memory_mb."
  }
}

run "the_rds_functions_run_in_the_vpc_given_and_admit_only_their_groups" {
  command = plan

  variables {
    rds_function_subnet_ids         = ["subnet-0a1b2c3d4e5f60718"]
    rds_function_security_group_ids = ["sg-0a1b2c3d4e5f60718"]
  }

  assert {
    condition = alltrue([
      for f in [module.playbook["rds-instance"], module.release["rds-instance"]] :
      tolist(f.vpc_config.subnet_ids) == tolist(["subnet-0a1b2c3d4e5f60718"]) && tolist(f.vpc_config.security_group_ids) == tolist(["sg-0a1b2c3d4e5f60718"])
    ])
    error_message = "The rds-instance containment and release functions must run in the subnets and groups given."
  }

  assert {
    condition     = module.playbook["ec2-instance"].vpc_config == null
    error_message = "Only the rds-instance functions run in a VPC."
  }

  assert {
    condition     = jsondecode(module.playbook["rds-instance"].environment.FIREBREAK_OPTIONS).function_security_group_ids == ["sg-0a1b2c3d4e5f60718"]
    error_message = "The RDS isolation group must admit the functions' own groups: the function is told them as function_security_group_ids."
  }
}

run "rejects_rds_subnets_without_groups" {
  command = plan

  variables {
    rds_function_subnet_ids = ["subnet-0a1b2c3d4e5f60718"]
  }

  expect_failures = [var.rds_function_subnet_ids]
}

run "rejects_an_unknown_playbook_mode" {
  command = plan

  variables {
    playbooks = { ec2-instance = { mode = "yolo" } }
  }

  expect_failures = [var.playbooks]
}

run "rejects_bad_name_prefix" {
  command = plan

  variables {
    name_prefix = "Firebreak_Prod"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_visibility_timeout_below_function_timeout" {
  command = plan

  variables {
    lambda_timeout_seconds     = 60
    visibility_timeout_seconds = 30
  }

  expect_failures = [var.visibility_timeout_seconds]
}

run "rejects_zero_blast_radius_limit" {
  command = plan

  variables {
    blast_radius_limit = 0
  }

  expect_failures = [var.blast_radius_limit]
}

run "rejects_protected_principal_that_is_not_an_arn" {
  command = plan

  variables {
    protected_principals = ["BreakGlass"]
  }

  expect_failures = [var.protected_principals]
}

run "rejects_large_batch_without_batching_window" {
  command = plan

  variables {
    batch_size = 100
  }

  expect_failures = [var.batch_size]
}

################################################################################
# Defaults and wiring
################################################################################

run "one_rule_queue_and_function_per_playbook" {
  command = plan

  assert {
    condition     = toset(keys(module.playbook)) == toset(keys(local.playbook_catalog))
    error_message = "Expected one playbook module instance per playbook of this version, each enabled by default."
  }

  assert {
    condition     = aws_dynamodb_table.ledger.name == "firebreak-ledger" && aws_dynamodb_table.ledger.hash_key == "pk" && aws_dynamodb_table.ledger.range_key == "sk"
    error_message = "The ledger table must be firebreak-ledger with keys pk/sk."
  }

  assert {
    condition     = aws_dynamodb_table.ledger.point_in_time_recovery[0].enabled && aws_dynamodb_table.ledger.ttl[0].attribute_name == "expiresAt" && aws_dynamodb_table.ledger.server_side_encryption[0].enabled
    error_message = "The ledger table needs PITR, TTL on expiresAt and server-side encryption."
  }

  assert {
    condition     = aws_s3_bucket.evidence.bucket == "firebreak-evidence-123456789012-us-east-1"
    error_message = "The evidence bucket defaults to <prefix>-evidence-<account>-<region>."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.evidence.block_public_acls,
      aws_s3_bucket_public_access_block.evidence.block_public_policy,
      aws_s3_bucket_public_access_block.evidence.ignore_public_acls,
      aws_s3_bucket_public_access_block.evidence.restrict_public_buckets,
    ])
    error_message = "All four Block Public Access settings must be on for the evidence bucket."
  }
}

run "default_visibility_timeout_is_six_times_function_timeout" {
  variables {
    lambda_timeout_seconds = 60
  }

  assert {
    condition     = module.playbook["ec2-instance"].visibility_timeout_seconds == 360
    error_message = "Visibility timeout must default to 6 x lambda_timeout_seconds (360 for 60)."
  }
}

run "explicit_visibility_timeout_wins" {
  variables {
    lambda_timeout_seconds     = 5
    visibility_timeout_seconds = 7
  }

  assert {
    condition     = module.playbook["ec2-instance"].visibility_timeout_seconds == 7
    error_message = "An explicit visibility_timeout_seconds must be used as given."
  }
}

run "queue_redrives_to_its_dlq" {
  variables {
    max_receive_count = 3
  }

  assert {
    condition     = module.playbook["ec2-instance"].redrive_policy.maxReceiveCount == 3
    error_message = "The redrive policy must carry max_receive_count."
  }

  assert {
    condition     = module.playbook["ec2-instance"].redrive_policy.deadLetterTargetArn == "arn:aws:sqs:us-east-1:123456789012:firebreak-ec2-instance-dlq"
    error_message = "The queue must redrive to its own DLQ."
  }

  assert {
    condition     = output.playbooks["ec2-instance"].max_receive_count == 3
    error_message = "The playbooks output must report max_receive_count."
  }
}

run "queue_policy_allows_only_the_rules" {
  assert {
    condition     = length(module.playbook["ec2-instance"].queue_policy.Statement) == 2
    error_message = "The queue policy must have exactly two statements: the rules' allow, and the deny of every other sender."
  }

  assert {
    condition = (
      module.playbook["ec2-instance"].queue_policy.Statement[0].Effect == "Allow" &&
      module.playbook["ec2-instance"].queue_policy.Statement[0].Principal == { Service = "events.amazonaws.com" } &&
      module.playbook["ec2-instance"].queue_policy.Statement[0].Action == "sqs:SendMessage" &&
      module.playbook["ec2-instance"].queue_policy.Statement[0].Resource == "arn:aws:sqs:us-east-1:123456789012:firebreak-ec2-instance"
    )
    error_message = "The queue policy must let only events.amazonaws.com SendMessage to this queue."
  }

  assert {
    condition     = jsonencode(module.playbook["ec2-instance"].queue_policy.Statement[0].Condition) == jsonencode({ ArnEquals = { "aws:SourceArn" = ["arn:aws:events:us-east-1:123456789012:rule/firebreak-ec2-instance", "arn:aws:events:us-east-1:123456789012:rule/firebreak-responders/firebreak-ec2-instance-manual"] } })
    error_message = "The queue policy must be conditioned on the two rules' ARNs and nothing else."
  }
}

run "event_source_mapping_reports_batch_item_failures" {
  assert {
    condition     = module.playbook["ec2-instance"].event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The event source mapping must use ReportBatchItemFailures."
  }

  assert {
    condition     = module.playbook["ec2-instance"].event_source_mapping.enabled == true
    error_message = "The event source mapping is enabled by default."
  }

  assert {
    condition     = module.playbook["ec2-instance"].event_source_mapping.batch_size == 1 && module.playbook["ec2-instance"].event_source_mapping.maximum_batching_window_in_seconds == 0
    error_message = "The event source mapping must use batch_size and maximum_batching_window_seconds."
  }

  assert {
    condition     = module.playbook["ec2-instance"].event_source_mapping.maximum_concurrency == 10
    error_message = "By default each finding is its own invocation (batch_size 1) and ten run at once (max_concurrency 10): the storm sizing in docs/decisions.md."
  }
}

run "event_source_mapping_can_be_disabled" {
  variables {
    event_source_mapping_enabled = false
  }

  assert {
    condition     = module.playbook["ec2-instance"].event_source_mapping.enabled == false
    error_message = "event_source_mapping_enabled = false must create a disabled mapping."
  }
}

run "function_environment" {
  variables {
    mode                 = "observe"
    min_severity         = 7.5
    finding_types_deny   = ["Recon:*"]
    protected_principals = ["arn:aws:iam::*:role/BreakGlass*"]
    blast_radius_limit   = 3
    extra_environment = {
      FIREBREAK_EXEMPT_TAG = "override:exempt"
      FIREBREAK_MODE       = "full"
      EXTRA                = "yes"
    }
  }

  assert {
    condition = module.playbook["ec2-instance"].environment == tomap({
      FIREBREAK_PLAYBOOK                    = "ec2-instance"
      FIREBREAK_FUNCTION_ROLE               = "contain"
      FIREBREAK_MODE                        = "observe"
      FIREBREAK_ACCOUNT_ID                  = "123456789012"
      FIREBREAK_LEDGER_TABLE                = "firebreak-ledger"
      FIREBREAK_EVIDENCE_BUCKET             = "firebreak-evidence-123456789012-us-east-1"
      FIREBREAK_MIN_SEVERITY                = "7.5"
      FIREBREAK_FINDING_TYPES_ALLOW         = "[]"
      FIREBREAK_FINDING_TYPES_DENY          = "[\"Recon:*\"]"
      FIREBREAK_PROTECTED_PRINCIPALS        = "[\"arn:aws:iam::*:role/BreakGlass*\"]"
      FIREBREAK_PROTECTED_RESOURCES         = "[]"
      FIREBREAK_EXEMPT_TAG                  = "override:exempt"
      FIREBREAK_BLAST_RADIUS_LIMIT          = "3"
      FIREBREAK_BLAST_RADIUS_WINDOW_SECONDS = "3600"
      FIREBREAK_OPTIONS                     = "{\"create_isolation_profile\":null,\"forensics\":null,\"isolation_instance_profile_arn\":null,\"malware_scan\":true,\"online_capture\":{\"enabled\":false,\"memory_capture_command\":null,\"wait_seconds\":10},\"release_pass_role_arns\":null,\"ssm_documents\":{\"memory_capture\":null,\"volatile_data\":null}}"
      FIREBREAK_FOLLOW_UP_SECONDS           = "300"
      FIREBREAK_MAX_FOLLOW_UPS              = "72"
      FIREBREAK_TOPIC_ARN                   = "arn:aws:sns:us-east-1:123456789012:firebreak-notifications"
      FIREBREAK_PAUSE_PARAMETER             = "/firebreak/paused"
      FIREBREAK_PARTITION                   = "aws"
      FIREBREAK_NAME_PREFIX                 = "firebreak"
      FIREBREAK_MEMBER_ACCOUNT_IDS          = "[]"
      FIREBREAK_MEMBER_ROLE_NAME            = "firebreak-responder"
      FIREBREAK_MEMBER_EXTERNAL_ID          = "firebreak-${substr(sha256("123456789012/firebreak"), 0, 32)}"
      FIREBREAK_RESPONDERS_BUS              = "firebreak-responders"
      FIREBREAK_DEPLOYED_PLAYBOOKS          = jsonencode(sort([for name, p in var.playbooks : name if p.enabled]))
      FIREBREAK_QUEUE_URL                   = "https://sqs.us-east-1.amazonaws.com/123456789012/firebreak-ec2-instance"
      POWERTOOLS_SERVICE_NAME               = "firebreak"
      POWERTOOLS_LOG_LEVEL                  = "INFO"
      EXTRA                                 = "yes"
    })
    error_message = "The function environment must carry every FIREBREAK_* setting, with extra_environment winning except over the playbook, mode and options."
  }
}

run "functions_know_which_playbooks_are_deployed" {
  variables {
    playbooks = {
      s3-bucket = { enabled = false }
    }
  }

  assert {
    condition     = contains(jsondecode(module.playbook["ec2-instance"].environment.FIREBREAK_DEPLOYED_PLAYBOOKS), "ec2-instance") && !contains(jsondecode(module.playbook["ec2-instance"].environment.FIREBREAK_DEPLOYED_PLAYBOOKS), "s3-bucket")
    error_message = "FIREBREAK_DEPLOYED_PLAYBOOKS must list the enabled playbooks and no disabled one (a hand-off to a disabled playbook is refused)."
  }
}

run "ec2_options_reach_the_function_in_terraforms_keys" {
  variables {
    playbooks = {
      ec2-instance = {
        options = {
          forensics = {
            launch = { ami_id = "ami-0abcdef1234567890", subnet_id = "subnet-0abcdef1234567890" }
            copy   = { account_id = "999988887777", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
          }
          online_capture                 = { enabled = true, memory_capture_command = "/opt/avml /tmp/mem.lime" }
          isolation_instance_profile_arn = "arn:aws:iam::123456789012:instance-profile/ops/firebreak-isolation"
          release_pass_role_arns         = ["arn:aws:iam::123456789012:role/app-*"]
        }
      }
    }
  }

  assert {
    condition     = data.aws_iam_instance_profile.isolation[0].name == "firebreak-isolation"
    error_message = "The isolation profile is looked up by the last segment of its ARN."
  }

  assert {
    condition = jsondecode(module.playbook["ec2-instance"].environment.FIREBREAK_OPTIONS) == {
      forensics = {
        instance_id = null
        launch      = { ami_id = "ami-0abcdef1234567890", subnet_id = "subnet-0abcdef1234567890", instance_type = "m5.large", security_group_ids = [] }
        copy        = { account_id = "999988887777", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
      }
      online_capture                 = { enabled = true, memory_capture_command = "/opt/avml /tmp/mem.lime", wait_seconds = 10 }
      malware_scan                   = true
      isolation_instance_profile_arn = "arn:aws:iam::123456789012:instance-profile/ops/firebreak-isolation"
      create_isolation_profile       = null
      release_pass_role_arns         = null
      ssm_documents                  = { volatile_data = "firebreak-volatile-data", memory_capture = "firebreak-memory-capture" }
    }
    error_message = "FIREBREAK_OPTIONS must carry the EC2 options in Terraform's own keys (the schema reads them as they are), Terraform-only attributes removed."
  }
}

run "creates_an_ssm_only_isolation_profile_when_asked" {
  variables {
    playbooks = { ec2-instance = { options = { create_isolation_profile = true, online_capture = { enabled = true } } } }
  }

  assert {
    condition     = aws_iam_role_policy_attachment.isolation_ssm[0].policy_arn == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    error_message = "The isolation role must carry AmazonSSMManagedInstanceCore (and nothing else)."
  }

  assert {
    condition     = jsondecode(aws_iam_role.isolation[0].assume_role_policy).Statement[0].Principal == { Service = "ec2.amazonaws.com" }
    error_message = "Only EC2 may assume the isolation role."
  }

  assert {
    condition     = jsondecode(module.playbook["ec2-instance"].environment.FIREBREAK_OPTIONS).isolation_instance_profile_arn == aws_iam_instance_profile.isolation[0].arn
    error_message = "The functions must replace instance profiles with the created isolation profile."
  }

  assert {
    condition     = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if contains(flatten([s.Action]), "iam:PassRole")]).Resource == [aws_iam_role.isolation[0].arn]
    error_message = "PassRole must be granted on the created isolation role only."
  }
}

run "rejects_an_own_and_a_created_isolation_profile_together" {
  command = plan

  variables {
    playbooks = { ec2-instance = { options = { create_isolation_profile = true, isolation_instance_profile_arn = "arn:aws:iam::123456789012:instance-profile/mine" } } }
  }

  expect_failures = [var.playbooks]
}

run "rejects_forensic_instance_and_launch_together" {
  command = plan

  variables {
    playbooks = {
      ec2-instance = {
        options = {
          forensics = {
            instance_id = "i-0abcdef1234567890"
            launch      = { ami_id = "ami-0abcdef1234567890", subnet_id = "subnet-0abcdef1234567890" }
          }
        }
      }
    }
  }

  expect_failures = [var.playbooks]
}

run "rejects_forensic_copy_without_a_key_arn" {
  command = plan

  variables {
    playbooks = {
      ec2-instance = {
        options = {
          forensics = { copy = { account_id = "999988887777", kms_key_arn = "alias/forensics" } }
        }
      }
    }
  }

  expect_failures = [var.playbooks]
}

run "rejects_follow_up_delay_beyond_sqs_maximum" {
  command = plan

  variables {
    follow_up_delay_seconds = 901
  }

  expect_failures = [var.follow_up_delay_seconds]
}

run "custom_prefix_and_bus" {
  command = plan

  variables {
    name_prefix    = "fb-test"
    event_bus_name = "fb-test-bus"
  }

  assert {
    condition     = output.playbooks["ec2-instance"].function_name == "fb-test-ec2-instance" && output.playbooks["ec2-instance"].rule_name == "fb-test-ec2-instance"
    error_message = "Names must be <name_prefix>-<playbook>."
  }

  assert {
    condition     = aws_dynamodb_table.ledger.name == "fb-test-ledger"
    error_message = "The ledger table must be <name_prefix>-ledger."
  }
}

run "a_kill_switch_the_cli_flips_and_an_apply_never_resets" {
  assert {
    condition     = aws_ssm_parameter.pause.name == "/firebreak/paused" && jsondecode(aws_ssm_parameter.pause.value) == { paused = false }
    error_message = "The pause parameter is /<name_prefix>/paused, created not paused."
  }

  assert {
    condition     = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "PauseSwitch"]).Action == ["ssm:GetParameter"]
    error_message = "The function may read its pause parameter, and nothing else of Parameter Store."
  }

  assert {
    condition     = output.pause_parameter_name == "/firebreak/paused"
    error_message = "The CLI finds the parameter in the pause_parameter_name output."
  }
}

run "manual_events_come_only_from_the_responders_bus" {
  variables {
    responder_principal_arns = ["arn:aws:iam::123456789012:role/IncidentResponder*"]
  }

  assert {
    condition     = jsondecode(module.playbook["ec2-instance"].guardduty_pattern).source == ["aws.guardduty"]
    error_message = "The rule on the findings bus must take GuardDuty's findings only: a principal that may put events on the default bus cannot contain or release."
  }

  assert {
    condition     = jsondecode(module.playbook["ec2-instance"].manual_pattern).source == ["firebreak.manual", "firebreak.handoff", "firebreak.redrive", "firebreak.resume"] && module.playbook["ec2-instance"].manual_bus_name == "firebreak-responders"
    error_message = "Manual findings, releases, hand-offs, redrives and resumes must be routed from the responders' bus only."
  }

  assert {
    condition     = contains(jsondecode(module.playbook["ec2-instance"].manual_pattern)["detail-type"], "Firebreak Hand-off")
    error_message = "The EC2 playbook's rule on the responders' bus must take hand-offs from other playbooks."
  }

  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "HandOffToPlaybooks"]) == {
      Sid      = "HandOffToPlaybooks"
      Effect   = "Allow"
      Action   = ["events:PutEvents"]
      Resource = aws_cloudwatch_event_bus.responders.arn
    }
    error_message = "A function may put events (hand-offs) on the responders' bus and no other."
  }

  assert {
    condition = one(jsondecode(aws_cloudwatch_event_bus_policy.responders.policy).Statement) == {
      Sid       = "OnlyRespondersAndFirebreak"
      Effect    = "Deny"
      Principal = "*"
      Action    = "events:PutEvents"
      Resource  = aws_cloudwatch_event_bus.responders.arn
      Condition = { ArnNotLike = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/IncidentResponder*", "arn:aws:iam::123456789012:role/mock-role"] } }
    }
    error_message = "The responders' bus must deny PutEvents to every principal but the responders and the functions."
  }
}

run "the_queue_denies_every_sender_but_its_rules_and_its_function" {
  assert {
    condition = module.playbook["ec2-instance"].queue_policy.Statement[1] == {
      Sid       = "DenyEveryOtherSender"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:us-east-1:123456789012:firebreak-ec2-instance"
      Condition = {
        ArnNotEquals = {
          "aws:SourceArn"    = ["arn:aws:events:us-east-1:123456789012:rule/firebreak-ec2-instance", "arn:aws:events:us-east-1:123456789012:rule/firebreak-responders/firebreak-ec2-instance-manual"]
          "aws:PrincipalArn" = "arn:aws:iam::123456789012:role/mock-role"
        }
      }
    }
    error_message = "A same-account principal allowed sqs:SendMessage by its own policy must not be able to forge a finding."
  }
}
