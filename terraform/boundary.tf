################################################################################
# Permissions boundary: the ceiling of every role this module creates for a function. The role
# policies grant each function less (its role, mode and options, on scoped resources); the
# boundary makes sure that whatever is ever attached to these roles — by mistake, or by someone who
# took one over — they can never call an action no Firebreak step declares, never change a
# protected principal, Firebreak's own roles or a service-linked role, and never lift the boundary.
################################################################################

locals {
  # What a Firebreak function does besides its steps: its own stores, queue, logs, key, topic,
  # kill switch, hand-offs between playbooks and cross-account responder roles.
  platform_actions = [
    "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query",
    "s3:PutObject",
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:SendMessage",
    "logs:CreateLogStream", "logs:PutLogEvents",
    "kms:Decrypt", "kms:GenerateDataKey",
    "sns:Publish",
    "ssm:GetParameter",
    "events:PutEvents",
    "sts:AssumeRole",
  ]
  # A function in a VPC (the rds-instance functions, rds_function_subnet_ids): Lambda manages its ENIs with the role's rights.
  vpc_actions = local.rds_vpc_config != null && contains(keys(local.playbooks), "rds-instance") ? [
    "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
  ] : []
  boundary_actions = sort(distinct(concat(
    local.platform_actions,
    local.vpc_actions,
    flatten([for name, m in local.manifests : [for s in m.statements : s.actions]]),
  )))
  boundary_name = "${var.name_prefix}-function-boundary-${local.region}"
}

resource "aws_iam_policy" "boundary" {
  #checkov:skip=CKV_AWS_289:A permissions boundary is a ceiling, not a grant: it lists every action a Firebreak function may ever be granted; the role policies scope each one to its resources (shared/iam).
  #checkov:skip=CKV_AWS_290:A permissions boundary is a ceiling, not a grant; write access is scoped in each role policy.
  #checkov:skip=CKV_AWS_355:A permissions boundary is a ceiling, not a grant; resources are scoped in each role policy.
  name        = local.boundary_name
  description = "Firebreak (${var.name_prefix}): the most any Firebreak function role may ever do"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "AtMostWhatFirebreakDeclares"
        Effect   = "Allow"
        Action   = local.boundary_actions
        Resource = "*"
      },
      {
        Sid    = "NeverProtectedOwnOrServiceRoles"
        Effect = "Deny"
        Action = [
          "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:UpdateAssumeRolePolicy",
          "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:AttachUserPolicy", "iam:DetachUserPolicy",
          "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:CreateAccessKey", "iam:DeleteLoginProfile", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
          "iam:DeactivateMFADevice", "iam:UpdateSSHPublicKey", "iam:DeleteSSHPublicKey", "iam:UpdateServiceSpecificCredential", "iam:UpdateSigningCertificate",
          "iam:TagUser", "iam:UntagUser", "iam:TagRole", "iam:UntagRole",
        ]
        Resource = distinct(concat(
          local.own_role_arn_patterns,
          var.protected_principals,
          ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/*"],
        ))
      },
      {
        Sid      = "NeverLiftTheBoundary"
        Effect   = "Deny"
        Action   = ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"]
        Resource = "*"
      },
    ]
  })

  tags = merge(var.tags, { "firebreak:component" = "permissions-boundary" })
}
