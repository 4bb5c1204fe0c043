# The member role: trusted only by the pipeline's function roles with its external id, granted
# what the playbooks' steps are granted in this account, under an optional boundary.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  trusted_role_arns = ["arn:aws:iam::111122223333:role/firebreak-ec2-instance"]
  external_id       = "firebreak-0123456789abcdef"
  policies = {
    ec2-instance = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"PlaybookSteps\",\"Effect\":\"Allow\",\"Action\":[\"ec2:DescribeInstances\",\"ec2:ModifyNetworkInterfaceAttribute\"],\"Resource\":[\"*\",\"arn:aws:ec2:us-east-1:MEMBER_ACCOUNT_ID:instance/*\"]}]}"
  }
}

run "trusted_only_by_the_function_roles_with_the_external_id" {
  assert {
    condition     = length(output.trust_policy.Statement) == 1
    error_message = "One trust statement."
  }

  assert {
    condition     = jsonencode(output.trust_policy.Statement[0].Principal) == jsonencode({ AWS = ["arn:aws:iam::111122223333:role/firebreak-ec2-instance"] })
    error_message = "Only the pipeline's function roles may assume the member role: no account root, no wildcard, no service."
  }

  assert {
    condition     = output.trust_policy.Statement[0].Condition.StringEquals["sts:ExternalId"] == "firebreak-0123456789abcdef"
    error_message = "The trust policy must require the pipeline's external id."
  }

  assert {
    condition     = output.trust_policy.Statement[0].Action == "sts:AssumeRole" && output.trust_policy.Statement[0].Effect == "Allow"
    error_message = "Only sts:AssumeRole is trusted."
  }

  assert {
    condition     = aws_iam_role.this.name == "firebreak-responder" && aws_iam_role.this.permissions_boundary == null
    error_message = "Default name firebreak-responder (the pipeline's member_role_name default); no boundary unless given."
  }
}

run "carries_the_playbook_policies_in_this_account" {
  assert {
    condition     = jsonencode(output.policies["ec2-instance"].Statement[0].Resource) == jsonencode(["*", "arn:aws:ec2:us-east-1:444455556666:instance/*"])
    error_message = "The member account's id must replace MEMBER_ACCOUNT_ID in the playbook policy."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.playbook["ec2-instance"].role == "firebreak-responder"
    error_message = "Each playbook's policy is attached to the role."
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.never_change_self.policy).Statement[0].Effect == "Deny" && jsondecode(aws_iam_role_policy.never_change_self.policy).Statement[0].Resource == "arn:aws:iam::444455556666:role/firebreak-responder"
    error_message = "The role must never be able to change itself."
  }
}

run "sits_under_the_given_boundary" {
  variables {
    permissions_boundary_policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ec2:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":[\"organizations:*\",\"sts:AssumeRole\"],\"Resource\":\"*\"}]}"
  }

  assert {
    condition     = aws_iam_role.this.permissions_boundary == aws_iam_policy.boundary[0].arn
    error_message = "With a boundary, it is created in the member account and set on the role."
  }

  assert {
    condition     = jsondecode(aws_iam_policy.boundary[0].policy).Statement[1].Effect == "Deny"
    error_message = "The boundary is the given document."
  }
}

run "refuses_wildcard_or_missing_trust" {
  command = plan

  variables {
    trusted_role_arns = ["arn:aws:iam::111122223333:root"]
  }

  expect_failures = [var.trusted_role_arns]
}

run "refuses_a_short_external_id" {
  command = plan

  variables {
    external_id = "x"
  }

  expect_failures = [var.external_id]
}
