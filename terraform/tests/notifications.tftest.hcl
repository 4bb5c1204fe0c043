# People told: the notification topic (encrypted, only Firebreak publishes), e-mail subscriptions,
# bring-your-own topic and key, the alarms per playbook and the dashboard, the role's Publish grant.
# The aws provider is mocked as in firebreak.tftest.hcl.

mock_provider "aws" {
  source = "./tests/mocks"
}

# The function role gets its real ARN, so the policies naming it can be checked.
override_resource {
  target = module.playbook["ec2-instance"].aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/firebreak-ec2-instance" }
}

override_resource {
  target = module.release["ec2-instance"].aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/firebreak-ec2-instance-release" }
}

variables {
  mode     = "contain"
  dist_dir = "tests/fixtures/playbooks"
  # The playbooks' functions only: the catch-all's publish grant and alarms are tested in catch-all.tftest.hcl.
  catch_all_enabled = false
  # The EC2 playbook's functions stand for every playbook's (the same module builds each).
  playbooks = { iam-user = { enabled = false }, iam-role = { enabled = false }, account = { enabled = false }, s3-bucket = { enabled = false }, ecs-task = { enabled = false }, container = { enabled = false }, rds-instance = { enabled = false } }

  topic_arn = "arn:aws:sns:us-east-1:123456789012:firebreak-notifications"
  role_arn  = "arn:aws:iam::123456789012:role/firebreak-ec2-instance"
  role_arns = ["arn:aws:iam::123456789012:role/firebreak-ec2-instance", "arn:aws:iam::123456789012:role/firebreak-ec2-instance-release"]
  own_topic = "arn:aws:sns:us-east-1:123456789012:security-alerts"
  own_key   = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}

################################################################################
# The topic and who may publish on it
################################################################################

run "creates_an_encrypted_topic_that_only_the_functions_and_the_alarms_may_publish_on" {
  assert {
    condition     = aws_sns_topic.notifications[0].name == "firebreak-notifications" && output.notification_topic_arn == var.topic_arn
    error_message = "One topic per deployment, <name_prefix>-notifications, its ARN an output."
  }

  assert {
    condition     = aws_sns_topic.notifications[0].kms_master_key_id == aws_kms_key.notifications[0].arn && aws_kms_key.notifications[0].enable_key_rotation
    error_message = "The topic must be encrypted with the key created for it (rotated)."
  }

  assert {
    condition     = module.playbook["ec2-instance"].environment["FIREBREAK_TOPIC_ARN"] == var.topic_arn
    error_message = "The functions must be told the topic's ARN (FIREBREAK_TOPIC_ARN)."
  }

  assert {
    condition     = length([for s in jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement : s if s.Effect == "Allow" && can(s.Principal.AWS)]) == 0
    error_message = "The topic policy must allow no IAM principal: the function roles publish with their own grant (Notify), everyone else is denied."
  }

  assert {
    condition = one([for s in jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement : s if s.Sid == "CloudWatchAlarmsPublish"]).Condition == {
      StringEquals = { "aws:SourceAccount" = "123456789012" }
      ArnLike      = { "aws:SourceArn" = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:firebreak-*" }
    }
    error_message = "CloudWatch may publish only for this account's Firebreak alarms."
  }

  assert {
    condition = one([for s in jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement : s if s.Sid == "OnlyFirebreakPublishes"]) == {
      Sid       = "OnlyFirebreakPublishes"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sns:Publish"
      Resource  = var.topic_arn
      Condition = {
        ArnNotEquals = { "aws:PrincipalArn" = var.role_arns }
        Null         = { "aws:SourceArn" = "true" }
      }
    }
    error_message = "Every other principal of the account must be denied sns:Publish (an allow alone admits anyone whose IAM policy allows it)."
  }

  assert {
    condition     = one([for s in jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement : s if s.Sid == "DenyInsecureTransport"]).Condition == { Bool = { "aws:SecureTransport" = "false" } }
    error_message = "Publishing without TLS must be denied."
  }

  assert {
    condition     = length(jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement) == 3 && aws_sns_topic_policy.notifications[0].arn == var.topic_arn
    error_message = "The topic policy must hold exactly: alarms publish, nobody else but the functions (their own grant), TLS only."
  }

  assert {
    condition = one([for s in jsondecode(aws_kms_key.notifications[0].policy).Statement : s if s.Sid == "FunctionsPublishThroughSns"]) == {
      Sid       = "FunctionsPublishThroughSns"
      Effect    = "Allow"
      Principal = { AWS = var.role_arns }
      Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
      Resource  = "*"
      Condition = { StringEquals = { "kms:ViaService" = "sns.us-east-1.amazonaws.com" } }
    }
    error_message = "The topic's key must let the function roles encrypt, through SNS only."
  }

  assert {
    condition     = one([for s in jsondecode(aws_kms_key.notifications[0].policy).Statement : s if s.Sid == "CloudWatchAlarmsPublish"]).Principal == { Service = "cloudwatch.amazonaws.com" }
    error_message = "The topic's key must let CloudWatch alarms encrypt their notifications (they cannot with alias/aws/sns)."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "No e-mail address, no subscription."
  }
}

run "the_role_publishes_on_the_topic_only" {
  command = plan

  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "Notify"]) == {
      Sid      = "Notify"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = var.topic_arn
    }
    error_message = "The function role must be granted sns:Publish on the notification topic, and nothing else with it."
  }

  assert {
    condition     = alltrue([for s in module.playbook["ec2-instance"].role_policy.Statement : s.Sid == "Notify" || length([for a in flatten([s.Action]) : a if startswith(a, "sns:")]) == 0])
    error_message = "No other statement of the role may grant an SNS action."
  }

  assert {
    condition     = length([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "NotifyKey"]) == 0
    error_message = "The created key names the roles in its policy: the role needs no KMS grant for it."
  }
}

run "subscribes_each_email_address" {
  variables {
    notification_emails = ["security-oncall@example.com", "soc@example.org"]
  }

  assert {
    condition     = toset(keys(aws_sns_topic_subscription.email)) == toset(["security-oncall@example.com", "soc@example.org"])
    error_message = "One subscription per address."
  }

  assert {
    condition     = alltrue([for s in aws_sns_topic_subscription.email : s.protocol == "email" && s.topic_arn == var.topic_arn])
    error_message = "E-mail subscriptions on the notification topic."
  }
}

run "rejects_an_address_that_is_not_an_email" {
  command = plan

  variables {
    notification_emails = ["security-oncall"]
  }

  expect_failures = [var.notification_emails]
}

################################################################################
# Bring your own topic, or your own key
################################################################################

run "brings_its_own_topic_and_creates_none" {
  variables {
    notification_topic_arn = var.own_topic
    notification_emails    = ["soc@example.org"]
  }

  assert {
    condition     = length(aws_sns_topic.notifications) == 0 && length(aws_sns_topic_policy.notifications) == 0 && length(aws_kms_key.notifications) == 0
    error_message = "With notification_topic_arn no topic, topic policy or key is created."
  }

  assert {
    condition     = output.notification_topic_arn == var.own_topic && module.playbook["ec2-instance"].environment["FIREBREAK_TOPIC_ARN"] == var.own_topic
    error_message = "The functions publish on the topic given, and the output names it."
  }

  assert {
    condition     = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "Notify"]).Resource == var.own_topic
    error_message = "The role may publish on the topic given, and only there."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.playbook["ec2-instance/dlq-not-empty"].alarm_actions == toset([var.own_topic]) && aws_sns_topic_subscription.email["soc@example.org"].topic_arn == var.own_topic
    error_message = "Alarms and e-mail subscriptions use the topic given."
  }
}

run "rejects_a_fifo_topic" {
  command = plan

  variables {
    notification_topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts.fifo"
  }

  expect_failures = [var.notification_topic_arn]
}

run "rejects_a_topic_name" {
  command = plan

  variables {
    notification_topic_arn = "security-alerts"
  }

  expect_failures = [var.notification_topic_arn]
}

run "encrypts_the_topic_with_a_given_key_and_grants_the_roles_its_use_through_sns" {
  variables {
    notifications_kms_key_arn = var.own_key
  }

  assert {
    condition     = length(aws_kms_key.notifications) == 0 && aws_sns_topic.notifications[0].kms_master_key_id == var.own_key
    error_message = "With notifications_kms_key_arn the topic uses that key and none is created."
  }

  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "NotifyKey"]) == {
      Sid       = "NotifyKey"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource  = var.own_key
      Condition = { StringEquals = { "kms:ViaService" = "sns.us-east-1.amazonaws.com" } }
    }
    error_message = "The role must be granted the given key, through SNS only."
  }
}

run "rejects_a_key_alias" {
  command = plan

  variables {
    notifications_kms_key_arn = "alias/aws/sns"
  }

  expect_failures = [var.notifications_kms_key_arn]
}

################################################################################
# Alarms and the dashboard
################################################################################

run "alarms_per_playbook_tell_the_topic_when_they_fire_and_when_they_clear" {
  command = plan

  variables {
    alarm_oldest_message_age_seconds = 1200
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/dlq-not-empty"].alarm_name == "firebreak-ec2-instance-dlq-not-empty" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/dlq-not-empty"].namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/dlq-not-empty"].metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/dlq-not-empty"].dimensions == tomap({ QueueName = "firebreak-ec2-instance-dlq" }) &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/dlq-not-empty"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/dlq-not-empty"].threshold == 0
    )
    error_message = "The DLQ alarm fires on one message in the playbook's DLQ."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/errors"].namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/errors"].metric_name == "Errors" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/errors"].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/errors"].dimensions == tomap({ FunctionName = "firebreak-ec2-instance" }) &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/errors"].threshold == 0
    )
    error_message = "The errors alarm fires on one function error."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/throttles"].metric_name == "Throttles" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/throttles"].dimensions == tomap({ FunctionName = "firebreak-ec2-instance" }) &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/throttles"].threshold == 0
    )
    error_message = "The throttles alarm fires on one throttle."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/oldest-message-age"].metric_name == "ApproximateAgeOfOldestMessage" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/oldest-message-age"].dimensions == tomap({ QueueName = "firebreak-ec2-instance" }) &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/oldest-message-age"].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.playbook["ec2-instance/oldest-message-age"].threshold == 1200
    )
    error_message = "The age alarm fires when the queue's oldest message is older than alarm_oldest_message_age_seconds."
  }

  assert {
    condition = alltrue([
      for a in [
        aws_cloudwatch_metric_alarm.playbook["ec2-instance/dlq-not-empty"],
        aws_cloudwatch_metric_alarm.playbook["ec2-instance/errors"],
        aws_cloudwatch_metric_alarm.playbook["ec2-instance/throttles"],
        aws_cloudwatch_metric_alarm.playbook["ec2-instance/oldest-message-age"],
      ] : a.alarm_actions == toset([var.topic_arn]) && a.ok_actions == toset([var.topic_arn]) && a.treat_missing_data == "notBreaching" && a.evaluation_periods == 1 && a.period == 60
    ])
    error_message = "Every alarm must tell the topic when it fires and when it clears, and treat missing data as fine."
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "firebreak-us-east-1"
    error_message = "One dashboard per deployment, named with the region (dashboards are global to the account)."
  }

  assert {
    condition = toset(flatten([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : "${m[1]}:${m[3]}"]
      ])) == toset([
      "ApproximateNumberOfMessagesVisible:firebreak-ec2-instance",
      "ApproximateAgeOfOldestMessage:firebreak-ec2-instance",
      "ApproximateNumberOfMessagesVisible:firebreak-ec2-instance-dlq",
      "Invocations:firebreak-ec2-instance",
      "Errors:firebreak-ec2-instance",
      "Throttles:firebreak-ec2-instance",
      "ApproximateNumberOfMessagesVisible:firebreak-ec2-instance-release",
      "ApproximateAgeOfOldestMessage:firebreak-ec2-instance-release",
      "ApproximateNumberOfMessagesVisible:firebreak-ec2-instance-release-dlq",
      "Invocations:firebreak-ec2-instance-release",
      "Errors:firebreak-ec2-instance-release",
      "Throttles:firebreak-ec2-instance-release",
    ])
    error_message = "The dashboard shows the alarmed metrics of each function, containment and release (and its invocations)."
  }
}

run "rejects_an_age_threshold_a_follow_up_would_trip" {
  command = plan

  variables {
    follow_up_delay_seconds          = 600
    alarm_oldest_message_age_seconds = 600
  }

  expect_failures = [var.alarm_oldest_message_age_seconds]
}

run "alarms_disabled_leaves_no_alarm_and_no_dashboard_but_still_notifies" {
  command = plan

  variables {
    alarms_enabled = false
  }

  assert {
    condition = (
      length(aws_cloudwatch_metric_alarm.playbook) + length(aws_cloudwatch_dashboard.this)
    ) == 0
    error_message = "alarms_enabled = false creates no alarm and no dashboard."
  }

  assert {
    condition     = length(aws_sns_topic.notifications) == 1 && module.playbook["ec2-instance"].environment["FIREBREAK_TOPIC_ARN"] == var.topic_arn
    error_message = "The functions still tell people on the topic without alarms."
  }
}

run "every_playbook_disabled_only_the_alarms_could_publish" {
  command = plan

  variables {
    playbooks = { ec2-instance = { enabled = false }, iam-user = { enabled = false }, iam-role = { enabled = false }, account = { enabled = false }, s3-bucket = { enabled = false }, ecs-task = { enabled = false }, container = { enabled = false }, rds-instance = { enabled = false } }
  }

  assert {
    condition     = [for s in jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement : s.Sid] == ["CloudWatchAlarmsPublish", "OnlyFirebreakPublishes", "DenyInsecureTransport"]
    error_message = "With no function, the topic admits only the alarms (and no empty principal list)."
  }

  assert {
    condition     = one([for s in jsondecode(aws_sns_topic_policy.notifications[0].policy).Statement : s if s.Sid == "OnlyFirebreakPublishes"]).Condition == { Null = { "aws:SourceArn" = "true" } }
    error_message = "With no function, every publication not made by a service for a resource is denied."
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && length(aws_cloudwatch_metric_alarm.playbook) == 0
    error_message = "No playbook, no alarm and no (empty) dashboard."
  }
}
