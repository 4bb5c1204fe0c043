# No finding vanishes: the catch-all rule takes exactly the GuardDuty findings no enabled
# playbook takes (its pattern is built from the enabled playbooks' resource types), and its
# queue, DLQ and `unhandled` function reach only the ledger, the topic, the queue and the logs.
# The aws provider is mocked as in firebreak.tftest.hcl; test/e2e/catch-all.test.ts puts every
# fixture through the real rules on the emulator.

mock_provider "aws" {
  source = "./tests/mocks"
}

# Distinct ARNs for what the policies name (file-level: runs share state).
override_resource {
  target = module.catch_all[0].aws_cloudwatch_event_rule.this
  values = { arn = "arn:aws:events:us-east-1:123456789012:rule/firebreak-unhandled" }
}

override_resource {
  target = module.catch_all[0].aws_sqs_queue.this
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:firebreak-unhandled"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/firebreak-unhandled"
  }
}

override_resource {
  target = module.catch_all[0].aws_sqs_queue.dlq
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:firebreak-unhandled-dlq"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/firebreak-unhandled-dlq"
  }
}

override_resource {
  target = module.catch_all[0].aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/firebreak-unhandled" }
}

override_resource {
  target = module.catch_all[0].aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/firebreak-unhandled" }
}

override_resource {
  target = module.playbook["ec2-instance"].aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/firebreak-ec2-instance" }
}

variables {
  mode     = "contain"
  dist_dir = "tests/fixtures/playbooks"
  # The catch-all next to the EC2 playbook alone (the account playbook's AccessKey/Root split is
  # covered by the generator's tests and the emulator).
  playbooks = { iam-user = { enabled = false }, iam-role = { enabled = false }, account = { enabled = false }, s3-bucket = { enabled = false }, ecs-task = { enabled = false }, container = { enabled = false }, rds-instance = { enabled = false } }

  topic_arn     = "arn:aws:sns:us-east-1:123456789012:firebreak-notifications"
  catch_all_arn = "arn:aws:iam::123456789012:role/firebreak-unhandled"
  test_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

################################################################################
# The pattern: the complement of the enabled playbooks' rules
################################################################################

run "takes_every_guardduty_finding_no_enabled_playbook_takes" {
  command = plan

  assert {
    condition = module.catch_all[0].event_pattern == jsonencode({
      source        = ["aws.guardduty"]
      "detail-type" = ["GuardDuty Finding"]
      "$or" = [
        { detail = { resource = { resourceType = [{ "anything-but" = ["Instance"] }] } } },
        { detail = { resource = { resourceType = [{ exists = false }] } } },
      ]
    })
    error_message = "The catch-all must take GuardDuty findings whose resource type no enabled playbook takes, and those with no resource type (anything-but never matches a missing field)."
  }

  assert {
    condition     = module.catch_all[0].event_bus_name == "default" && module.catch_all[0].rule_name == "firebreak-unhandled"
    error_message = "The catch-all rule listens on the findings bus, next to the playbooks' rules."
  }

  assert {
    condition     = jsondecode(module.playbook["ec2-instance"].guardduty_pattern).detail.resource.resourceType == jsondecode(module.catch_all[0].event_pattern)["$or"][0].detail.resource.resourceType[0]["anything-but"]
    error_message = "The catch-all must exclude exactly the resource types the enabled playbook's rule takes."
  }
}

run "access_key_findings_of_a_user_type_no_enabled_playbook_takes" {
  command = plan

  variables {
    playbooks = { iam-user = { enabled = false }, account = { enabled = false }, s3-bucket = { enabled = false }, ecs-task = { enabled = false }, container = { enabled = false }, rds-instance = { enabled = false } }
  }

  assert {
    condition = module.catch_all[0].event_pattern == jsonencode({
      source        = ["aws.guardduty"]
      "detail-type" = ["GuardDuty Finding"]
      "$or" = [
        { detail = { resource = { resourceType = [{ "anything-but" = ["AccessKey", "Instance"] }] } } },
        { detail = { resource = { resourceType = [{ exists = false }] } } },
        { detail = { resource = { resourceType = ["AccessKey"], accessKeyDetails = { userType = [{ "anything-but" = ["AssumedRole"] }] } } } },
        { detail = { resource = { resourceType = ["AccessKey"], accessKeyDetails = { userType = [{ exists = false }] } } } },
      ]
    })
    error_message = "With the IAM role playbook enabled, the catch-all takes every AccessKey finding but those about an AssumedRole (and those with no userType)."
  }
}

run "a_disabled_playbook_hands_its_findings_to_the_catch_all" {
  variables {
    playbooks = { ec2-instance = { enabled = false }, iam-user = { enabled = false }, iam-role = { enabled = false }, account = { enabled = false }, s3-bucket = { enabled = false }, ecs-task = { enabled = false }, container = { enabled = false }, rds-instance = { enabled = false } }
  }

  assert {
    condition     = length(module.playbook) == 0 && module.catch_all[0].event_pattern == jsonencode({ source = ["aws.guardduty"], "detail-type" = ["GuardDuty Finding"] })
    error_message = "With every playbook disabled, the catch-all takes every GuardDuty finding (and no empty anything-but list)."
  }

  assert {
    condition     = one([for s in jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement : s if s.Sid == "OnlyFirebreakPublishes"]).Condition.ArnNotEquals["aws:PrincipalArn"] == [var.catch_all_arn]
    error_message = "The catch-all, the only function left, must still be allowed to publish (exempt from the topic's deny)."
  }
}

run "on_the_bus_the_findings_arrive_on" {
  command = plan

  variables {
    event_bus_name = "guardduty-findings"
  }

  assert {
    condition     = module.catch_all[0].event_bus_name == "guardduty-findings"
    error_message = "The catch-all must listen where the playbooks' rules listen (event_bus_name)."
  }
}

run "can_be_turned_off" {
  command = plan

  variables {
    catch_all_enabled = false
  }

  assert {
    condition     = length(module.catch_all) == 0 && output.catch_all == null && length([for k, a in aws_cloudwatch_metric_alarm.playbook : k if startswith(k, "unhandled/")]) == 0
    error_message = "catch_all_enabled = false deploys no catch-all rule, queue, function or alarm."
  }
}

################################################################################
# The pipeline: rule -> queue (+ DLQ) -> unhandled function
################################################################################

run "the_queue_redrives_to_its_dlq_and_only_the_rule_may_send" {
  assert {
    condition     = module.catch_all[0].redrive_policy == { deadLetterTargetArn = "arn:aws:sqs:us-east-1:123456789012:firebreak-unhandled-dlq", maxReceiveCount = 5 }
    error_message = "The catch-all queue must redrive to its own DLQ after max_receive_count receives."
  }

  assert {
    condition = module.catch_all[0].queue_policy.Statement == [
      {
        Sid       = "AllowOnlyTheCatchAllRule"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = "arn:aws:sqs:us-east-1:123456789012:firebreak-unhandled"
        Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:us-east-1:123456789012:rule/firebreak-unhandled" } }
      },
      {
        Sid       = "DenyEveryOtherSender"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:SendMessage"
        Resource  = "arn:aws:sqs:us-east-1:123456789012:firebreak-unhandled"
        Condition = { ArnNotEquals = { "aws:SourceArn" = "arn:aws:events:us-east-1:123456789012:rule/firebreak-unhandled" } }
      },
    ]
    error_message = "Only the catch-all rule may send to its queue; every other sender (its own function included) is denied."
  }

  assert {
    condition     = module.catch_all[0].event_source_mapping.function_response_types == toset(["ReportBatchItemFailures"]) && module.catch_all[0].event_source_mapping.batch_size == 1
    error_message = "The mapping must report batch-item failures (one bad message never fails the batch)."
  }
}

run "encrypted_like_the_playbooks_queues" {
  command = plan

  variables {
    kms_key_arn = var.test_key_arn
  }

  assert {
    condition = (
      module.catch_all[0].encryption.queue_kms_master_key_id == var.test_key_arn &&
      module.catch_all[0].encryption.dlq_kms_master_key_id == var.test_key_arn &&
      module.catch_all[0].encryption.log_group_kms_key_id == var.test_key_arn &&
      module.catch_all[0].encryption == module.playbook["ec2-instance"].encryption
    )
    error_message = "The queue, the DLQ and the log group must be encrypted with kms_key_arn, exactly as the playbooks' are."
  }

  assert {
    condition = one([for s in module.catch_all[0].role_policy.Statement : s if s.Sid == "FirebreakKey"]) == {
      Sid       = "FirebreakKey"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = var.test_key_arn
      Condition = { StringEquals = { "kms:ViaService" = ["dynamodb.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com"] } }
    }
    error_message = "The role may use the key through DynamoDB and SQS only."
  }
}

run "sse_sqs_without_a_key" {
  command = plan

  assert {
    condition     = module.catch_all[0].encryption.queue_sqs_managed_sse == true && module.catch_all[0].encryption.dlq_sqs_managed_sse == true && module.catch_all[0].encryption.queue_kms_master_key_id == null && module.catch_all[0].encryption == module.playbook["ec2-instance"].encryption
    error_message = "Without a key, the queue and the DLQ use SSE-SQS, as the playbooks' do."
  }
}

run "the_role_reaches_the_ledger_the_topic_its_queue_and_its_logs_only" {
  assert {
    condition = module.catch_all[0].role_policy.Statement == [
      { Sid = "Ledger", Effect = "Allow", Action = ["dynamodb:PutItem", "dynamodb:UpdateItem"], Resource = ["arn:aws:dynamodb:us-east-1:123456789012:table/mock-ledger"] },
      { Sid = "OwnQueue", Effect = "Allow", Action = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], Resource = "arn:aws:sqs:us-east-1:123456789012:firebreak-unhandled" },
      { Sid = "OwnLogGroup", Effect = "Allow", Action = ["logs:CreateLogStream", "logs:PutLogEvents"], Resource = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/firebreak-unhandled:*" },
      { Sid = "Notify", Effect = "Allow", Action = ["sns:Publish"], Resource = var.topic_arn },
    ]
    error_message = "The unhandled function's role must reach the ledger, the topic, its own queue and its own logs, and nothing else."
  }

  assert {
    condition = module.catch_all[0].environment == tomap({
      FIREBREAK_FUNCTION      = "unhandled"
      FIREBREAK_LEDGER_TABLE  = "firebreak-ledger"
      FIREBREAK_TOPIC_ARN     = var.topic_arn
      POWERTOOLS_SERVICE_NAME = "firebreak"
      POWERTOOLS_LOG_LEVEL    = "INFO"
    })
    error_message = "The function is told the ledger and the topic: nothing of the account, no mode, no evidence bucket."
  }
}

run "may_publish_on_the_topic_alongside_the_playbooks" {
  assert {
    condition     = one([for s in jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement : s if s.Sid == "OnlyFirebreakPublishes"]).Condition.ArnNotEquals["aws:PrincipalArn"] == ["arn:aws:iam::123456789012:role/firebreak-ec2-instance", "arn:aws:iam::123456789012:role/mock-role", var.catch_all_arn]
    error_message = "The topic's deny must exempt the catch-all's role, or its notifications are refused."
  }

  assert {
    condition     = one([for s in jsondecode(aws_kms_key.notifications[0].policy).Statement : s if s.Sid == "FunctionsPublishThroughSns"]).Principal.AWS == ["arn:aws:iam::123456789012:role/firebreak-ec2-instance", "arn:aws:iam::123456789012:role/mock-role", var.catch_all_arn]
    error_message = "The topic's key must let the catch-all's role encrypt through SNS."
  }
}

run "its_dlq_and_function_are_alarmed" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.playbook["unhandled/dlq-not-empty"].alarm_name == "firebreak-unhandled-dlq-not-empty" &&
      aws_cloudwatch_metric_alarm.playbook["unhandled/dlq-not-empty"].dimensions == tomap({ QueueName = "firebreak-unhandled-dlq" }) &&
      aws_cloudwatch_metric_alarm.playbook["unhandled/dlq-not-empty"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.playbook["unhandled/dlq-not-empty"].alarm_actions == toset([var.topic_arn])
    )
    error_message = "A finding the catch-all could not record waits in its DLQ: one message there must alarm to the topic."
  }

  assert {
    condition     = toset([for k, a in aws_cloudwatch_metric_alarm.playbook : k if startswith(k, "unhandled/")]) == toset(["unhandled/dlq-not-empty", "unhandled/errors", "unhandled/throttles", "unhandled/oldest-message-age"])
    error_message = "The catch-all is watched like a playbook: DLQ, errors, throttles, oldest message."
  }
}

run "bounded_like_the_playbooks" {
  command = plan

  variables {
    lambda_reserved_concurrency = 3
    max_concurrency             = 2
  }

  assert {
    condition     = module.catch_all[0].reserved_concurrency == 3
    error_message = "A storm of unhandled findings must not take the account's Lambda concurrency: lambda_reserved_concurrency applies to the catch-all too."
  }
}
