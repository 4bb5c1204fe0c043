locals {
  tags = merge(var.tags, {
    "firebreak:component" = "playbook"
    "firebreak:playbook"  = var.playbook
  })

  log_group_name = "/aws/lambda/${var.name}"

  # The queue's own ARN, for the Resource of its inline policy (a resource cannot refer to its
  # own attributes). SQS ARNs are always arn:<partition>:sqs:<region>:<account>:<name>.
  queue_arn = "arn:${var.partition}:sqs:${var.region}:${var.account_id}:${var.name}"

  # What this function may call besides its own resources: the manifest's statements for its
  # role (containment or release) that its mode and options enable (observe: describe only;
  # online capture's Run Command only with it; undos only in the release function…).
  granted_statements = [
    for s in var.iam_statements : s
    if contains(s.roles, var.function_role) && contains(s.modes, var.mode) && alltrue([for o in s.enabledBy : lookup(var.enabled_options, o, false)])
  ]
  granted_actions = sort(distinct(flatten([for s in local.granted_statements : s.actions])))

  # Each grant rendered for this deployment: scalar placeholders replaced, list placeholders
  # ({forensic_image_arns}…) expanded to their ARNs; a grant left with no resource is dropped.
  rendered_grants = flatten([
    for s in local.granted_statements : [
      for g in s.grants : {
        actions = g.actions
        resources = distinct(flatten([
          for r in g.resources : lookup(var.iam_lists, r, [
            replace(replace(replace(r, "{partition}", var.partition), "{region}", var.region), "{account}", var.account_id)
          ])
        ]))
        conditions = try(jsondecode(replace(jsonencode(g.conditions), "{forensic_account_id}", lookup(var.iam_values, "forensic_account_id", "{forensic_account_id}"))), null)
      }
    ]
  ])
  # One statement per distinct (resources, conditions), actions merged: the policy stays well
  # under IAM's 10,240 characters for a role's inline policies.
  merged_grants = {
    for g in local.rendered_grants : jsonencode([sort(g.resources), g.conditions]) => g.actions... if length(g.resources) > 0
  }
  step_statements = [
    for i, k in sort(keys(local.merged_grants)) : merge(
      {
        Sid      = "Steps${i}"
        Effect   = "Allow"
        Action   = sort(distinct(flatten(local.merged_grants[k])))
        Resource = jsondecode(k)[0]
      },
      jsondecode(k)[1] == null ? {} : { Condition = jsondecode(k)[1] },
    )
  ]

  # IAM writes this function may make (inline policies on compromised roles…): never on a protected
  # principal, on Firebreak's own roles, or on a service-linked role. IAM has no condition key for
  # an inline policy's name, so the deny is by principal.
  iam_writes = [for a in local.granted_actions : a if startswith(a, "iam:") && a != "iam:PassRole" && a != "iam:CreateServiceLinkedRole" && !startswith(a, "iam:Get") && !startswith(a, "iam:List")]
  never_touched_principals = distinct(concat(
    [aws_iam_role.this.arn],
    var.own_role_arn_patterns,
    var.protected_principal_arns,
    ["arn:${var.partition}:iam::${var.account_id}:role/aws-service-role/*"],
  ))

  rule_arns = [for r in aws_cloudwatch_event_rule.this : r.arn]
}

################################################################################
# Rule -> queue
################################################################################

# The rules that feed this function's queue: for containment, GuardDuty's findings (on the findings
# bus) and the responders' manual findings (on the responders' bus, which only responders may put
# events on); for release, the responders' releases only.
resource "aws_cloudwatch_event_rule" "this" {
  for_each = var.rules

  name           = each.key == var.primary_rule ? var.name : "${var.name}-${each.key}"
  description    = each.value.description
  event_bus_name = each.value.event_bus_name
  event_pattern  = each.value.event_pattern

  tags = local.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = var.rules

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = each.value.event_bus_name
  target_id      = "queue"
  arn            = aws_sqs_queue.this.arn
}

# Before the release function had its own module instance, the containment function's rules were two resources.
moved {
  from = aws_cloudwatch_event_rule.this
  to   = aws_cloudwatch_event_rule.this["findings"]
}

moved {
  from = aws_cloudwatch_event_target.this
  to   = aws_cloudwatch_event_target.this["findings"]
}

moved {
  from = aws_cloudwatch_event_rule.manual
  to   = aws_cloudwatch_event_rule.this["manual"]
}

moved {
  from = aws_cloudwatch_event_target.manual
  to   = aws_cloudwatch_event_target.this["manual"]
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum: time for a human to look
  kms_master_key_id         = var.firebreak_kms_key_arn
  sqs_managed_sse_enabled   = var.firebreak_kms_key_arn == null ? true : null

  tags = local.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  visibility_timeout_seconds = var.visibility_timeout_seconds
  # The customer-managed key when there is one (EventBridge needs it in the key policy), else SSE-SQS.
  kms_master_key_id       = var.firebreak_kms_key_arn
  sqs_managed_sse_enabled = var.firebreak_kms_key_arn == null ? true : null

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  # Inline rather than an aws_sqs_queue_policy: the provider waits ~25 s for every queue attribute
  # change to settle (hashicorp/terraform-provider-aws#27393), so a separate policy resource adds a
  # third wait to the DLQ -> queue chain. The rule is created while the DLQ settles, so referring
  # to its real ARN here costs nothing.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AllowOnlyTheFirebreakRules"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.queue_arn
        Condition = { ArnEquals = { "aws:SourceArn" = local.rule_arns } }
      },
      {
        # An allow alone lets any principal of the account whose own IAM policy allows
        # sqs:SendMessage forge a finding. Deny every sender that is neither one of the rules
        # nor the function itself (its follow-ups). For EventBridge deliveries aws:PrincipalArn is
        # absent (a missing key satisfies ArnNotEquals); the function carries no aws:SourceArn.
        Sid       = "DenyEveryOtherSender"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:SendMessage"
        Resource  = local.queue_arn
        Condition = {
          ArnNotEquals = {
            "aws:SourceArn"    = local.rule_arns
            "aws:PrincipalArn" = aws_iam_role.this.arn
          }
        }
      },
    ]
  })

  tags = local.tags
}

################################################################################
# Function
################################################################################

resource "aws_iam_role" "this" {
  name        = var.name
  description = "Firebreak ${var.playbook} playbook: ${var.function_role == "release" ? "release" : "containment"} function"
  # The ceiling of every Firebreak role: whatever is added to this role later, it can never do more.
  permissions_boundary = var.permissions_boundary_arn
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = local.tags
}

resource "aws_iam_role_policy" "this" {
  name = "firebreak-playbook"
  role = aws_iam_role.this.id

  lifecycle {
    precondition {
      # A placeholder left in the policy means an option the grant needs is not set.
      condition     = !can(regex("\\{[a-z_]+\\}", jsonencode(local.step_statements)))
      error_message = "The ${var.name} policy still holds a placeholder (${join(", ", distinct(flatten(regexall("\\{[a-z_]+\\}", jsonencode(local.step_statements)))))}): an option its grants need is not set."
    }
  }
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      # The actions the playbook's steps declare next to their code, on the resources and under the
      # conditions of shared/iam (dist/<playbook>.iam.json), for this function's role, mode and options.
      local.step_statements,
      [
        {
          Sid      = "Ledger"
          Effect   = "Allow"
          Action   = sort([for a in var.scoped_actions : a if startswith(a, "dynamodb:")])
          Resource = [var.ledger_table_arn]
        },
        {
          Sid      = "EvidenceObjects"
          Effect   = "Allow"
          Action   = sort([for a in var.scoped_actions : a if startswith(a, "s3:")])
          Resource = "${var.evidence_bucket_arn}/*"
        },
        {
          # SendMessage: follow-up deliveries for steps waiting on AWS (the message re-queued, delayed).
          Sid      = "OwnQueue"
          Effect   = "Allow"
          Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:SendMessage"]
          Resource = aws_sqs_queue.this.arn
        },
        {
          Sid      = "OwnLogGroup"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${aws_cloudwatch_log_group.this.arn}:*"
        },
      ],
      length(local.iam_writes) > 0 ? [{
        # Inline policies on compromised roles and users (the session revocation), credentials of
        # compromised users, never on a protected principal, on Firebreak's own roles (a
        # compromised function could widen its own permissions) or on a service-linked role.
        Sid    = "NeverProtectedOwnOrServiceRoles"
        Effect = "Deny"
        Action = [
          "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
          "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:AttachUserPolicy", "iam:DetachUserPolicy",
          # A protected user keeps its credentials: keys, password, MFA, SSH keys, service credentials.
          "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:CreateAccessKey", "iam:DeleteLoginProfile", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
          "iam:DeactivateMFADevice", "iam:UpdateSSHPublicKey", "iam:DeleteSSHPublicKey", "iam:UpdateServiceSpecificCredential", "iam:UpdateSigningCertificate",
          "iam:TagUser", "iam:UntagUser", "iam:TagRole", "iam:UntagRole",
        ]
        Resource = local.never_touched_principals
      }] : [],
      length(var.member_role_arns) > 0 ? [{
        # Organization: the role of each member account, assumed when a finding is for that account.
        Sid      = "AssumeMemberRoles"
        Effect   = "Allow"
        Action   = ["sts:AssumeRole"]
        Resource = var.member_role_arns
      }] : [],
      var.firebreak_kms_key_arn != null ? [{
        # Firebreak's own key, used only through the services that hold its data: SQS (receive:
        # Decrypt; the follow-up send: GenerateDataKey and Decrypt), S3 (evidence put:
        # GenerateDataKey; Decrypt for multipart uploads) and DynamoDB (the table key: Decrypt).
        # Never directly, never another key. The log group needs nothing: CloudWatch Logs uses
        # the key itself.
        Sid      = "FirebreakKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.firebreak_kms_key_arn
        Condition = {
          StringEquals = {
            "kms:ViaService" = [for service in ["dynamodb", "s3", "sqs"] : "${service}.${var.region}.${var.dns_suffix}"]
          }
        }
      }] : [],
      var.notification_topic_arn != null ? [{
        # Telling people: publish on the deployment's notification topic, no other.
        Sid      = "Notify"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = var.notification_topic_arn
      }] : [],
      var.vpc_config != null ? [{
        # A function in a VPC: Lambda creates and removes its network interfaces with the role's
        # rights (AWSLambdaVPCAccessExecutionRole's actions), in the configured subnets and groups only.
        Sid    = "VpcNetworkInterfaces"
        Effect = "Allow"
        Action = ["ec2:CreateNetworkInterface"]
        Resource = concat(
          ["arn:${var.partition}:ec2:${var.region}:${var.account_id}:network-interface/*"],
          [for id in var.vpc_config.subnet_ids : "arn:${var.partition}:ec2:${var.region}:${var.account_id}:subnet/${id}"],
          [for id in var.vpc_config.security_group_ids : "arn:${var.partition}:ec2:${var.region}:${var.account_id}:security-group/${id}"],
        )
        }, {
        Sid      = "VpcNetworkInterfacesLifecycle"
        Effect   = "Allow"
        Action   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
        Resource = ["arn:${var.partition}:ec2:${var.region}:${var.account_id}:network-interface/*"]
        }, {
        # No resource-level permissions for Describe* (Service Authorization Reference).
        Sid      = "VpcNetworkInterfacesDescribe"
        Effect   = "Allow"
        Action   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]
        Resource = ["*"]
      }] : [],
      var.pause_parameter_arn != null ? [{
        # The kill switch: read the deployment's pause parameter, no other.
        Sid      = "PauseSwitch"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = var.pause_parameter_arn
      }] : [],
      var.handoff_bus_arn != null ? [{
        # Hand-offs between playbooks (shared/actions/handoff.ts): put events on the responders'
        # bus, no other (its policy admits this role by its ARN). Containment functions only.
        Sid      = "HandOffToPlaybooks"
        Effect   = "Allow"
        Action   = ["events:PutEvents"]
        Resource = var.handoff_bus_arn
      }] : [],
      var.notification_topic_arn != null && var.notification_kms_key_arn != null ? [{
        # A topic encrypted with a given customer-managed key: SNS encrypts with the publisher's rights.
        Sid       = "NotifyKey"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.notification_kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "sns.${var.region}.${var.dns_suffix}" } }
      }] : [],
    )
  })
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.firebreak_kms_key_arn

  tags = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A Lambda dead-letter queue applies to asynchronous invocations only; the function is invoked by its SQS event source mapping, and messages that keep failing move to the queue's own DLQ (redrive_policy) whose depth raises an alarm.
  #checkov:skip=CKV_AWS_117:Not in a VPC (except the rds-instance functions, when rds_function_subnet_ids is set: they reach databases): the function accepts no connections and calls only AWS APIs over TLS with IAM authentication; a VPC would need a NAT gateway or an interface endpoint per service to reach them, a network path containment would then depend on during an incident.
  #checkov:skip=CKV_AWS_50:No X-Ray tracing: xray:PutTraceSegments supports no resource-level permission, so tracing would add a Resource "*" write to a role kept free of them; every step is recorded in the ledger and in structured logs carrying the incident id.
  #checkov:skip=CKV_AWS_272:No Lambda code signing: AWS Signer signs packages staged in S3, and this module deploys the package from the local file, built reproducibly from the repository (make build) and pinned by its SHA-256 (source_code_hash).
  #checkov:skip=CKV_AWS_173:The environment holds configuration only (table, bucket and topic names, mode, options), no secret; Lambda encrypts it at rest with its AWS managed key, and a customer-managed key here would make every invocation depend on that key, so a disabled key would stop containment.
  function_name    = var.name
  description      = "Firebreak ${var.playbook} playbook (${var.function_role == "release" ? "release" : "containment"})"
  role             = aws_iam_role.this.arn
  handler          = "index.handler"
  filename         = var.package_file
  source_code_hash = filebase64sha256(var.package_file)
  runtime          = var.runtime
  architectures    = [var.architecture]
  timeout          = var.timeout_seconds
  memory_size      = var.memory_mb

  # The rds-instance functions reach the databases they restrict users in (vpc_config).
  dynamic "vpc_config" {
    for_each = var.vpc_config != null ? [var.vpc_config] : []
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  # -1: unreserved (the mapping's maximum concurrency still caps how many run at once).
  reserved_concurrent_executions = coalesce(var.reserved_concurrency, -1)

  environment {
    # The queue URL lets the function re-queue a finding whose steps wait on AWS.
    variables = merge(var.environment, { FIREBREAK_QUEUE_URL = aws_sqs_queue.this.url, FIREBREAK_FUNCTION_ROLE = var.function_role })
  }

  tags = local.tags

  # Created first so Lambda does not create it without retention on the first invocation.
  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_sqs_queue.this.arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  enabled                            = var.event_source_mapping_enabled

  # At most this many invocations at once, whatever the number of findings queued.
  dynamic "scaling_config" {
    for_each = var.max_concurrency != null ? [var.max_concurrency] : []
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  tags = local.tags

  # Lambda checks that the role may read the queue when the mapping is created.
  depends_on = [aws_iam_role_policy.this]
}
