# The role a Firebreak pipeline (deployed in GuardDuty's delegated administrator account) assumes
# to act on a finding of this account: trusted only by the pipeline's function roles, with the
# pipeline's external id, granted what the pipeline's playbooks are granted, under an optional
# permissions boundary. CloudTrail shows each call with the session name `firebreak-<incident id>`.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  role_arn   = "arn:${local.partition}:iam::${local.account_id}:role/${var.name}"
  tags       = merge(var.tags, { "firebreak:component" = "member-role" })
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "Firebreak: assumed by the pipeline's functions to respond to this account's GuardDuty findings"
  max_session_duration = var.max_session_duration_seconds
  permissions_boundary = try(aws_iam_policy.boundary[0].arn, null)

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "FirebreakFunctionsOnly"
      Effect    = "Allow"
      Principal = { AWS = sort(var.trusted_role_arns) }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = var.external_id } }
    }]
  })

  tags = local.tags
}

# One managed policy per playbook: a role's inline policies share 10,240 characters, a managed
# policy has 6,144 of its own.
resource "aws_iam_policy" "playbook" {
  for_each = var.policies

  name        = "${var.name}-${each.key}"
  description = "Firebreak ${each.key} playbook: what its steps may do in this account"
  policy      = replace(each.value, "MEMBER_ACCOUNT_ID", local.account_id)

  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "playbook" {
  for_each = var.policies

  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.playbook[each.key].arn
}

# Whatever the playbook policies grant, the role never changes itself (the session revocation
# writes inline policies on compromised roles, never on this one).
resource "aws_iam_role_policy" "never_change_self" {
  name = "firebreak-never-change-self"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "NeverChangeOwnRole"
      Effect   = "Deny"
      Action   = ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary"]
      Resource = local.role_arn
    }]
  })
}

resource "aws_iam_policy" "boundary" {
  count = var.permissions_boundary_policy_json == null ? 0 : 1

  name        = "${var.name}-boundary"
  description = "Firebreak: the permissions boundary of ${var.name}"
  policy      = replace(var.permissions_boundary_policy_json, "MEMBER_ACCOUNT_ID", local.account_id)

  tags = local.tags
}
