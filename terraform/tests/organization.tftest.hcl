# Organization: the deployment acts in its member accounts through their member role.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  mode     = "contain"
  dist_dir = "tests/fixtures/playbooks"
}

run "a_single_account_deployment_assumes_no_role" {

  assert {
    condition     = length([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "AssumeMemberRoles"]) == 0
    error_message = "Without member accounts the function role must not be allowed to assume any role."
  }

  assert {
    condition     = module.playbook["ec2-instance"].environment.FIREBREAK_MEMBER_ACCOUNT_IDS == "[]"
    error_message = "Without member accounts the functions must act only in their own account."
  }

  assert {
    condition     = output.member_external_id == "firebreak-${substr(sha256("123456789012/firebreak"), 0, 32)}"
    error_message = "The external id is derived from the account id and name_prefix when none is given."
  }
}

run "member_accounts_are_assumed_on_exactly_their_roles" {

  variables {
    member_account_ids = ["222233334444", "333344445555", "123456789012"]
    member_role_name   = "fb-responder"
    member_external_id = "ext-0123456789"
    extra_environment  = { FIREBREAK_MEMBER_ACCOUNT_IDS = "[\"999988887777\"]", FIREBREAK_MEMBER_EXTERNAL_ID = "other" }
  }

  assert {
    condition = jsonencode([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "AssumeMemberRoles"][0].Resource) == jsonencode([
      "arn:aws:iam::222233334444:role/fb-responder",
      "arn:aws:iam::333344445555:role/fb-responder",
    ])
    error_message = "sts:AssumeRole must be granted on exactly each member's role, never on the deployment's own account or a wildcard."
  }

  assert {
    condition     = [for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "AssumeMemberRoles"][0].Action == ["sts:AssumeRole"]
    error_message = "Only sts:AssumeRole."
  }

  assert {
    condition     = module.playbook["ec2-instance"].environment.FIREBREAK_MEMBER_ACCOUNT_IDS == jsonencode(["222233334444", "333344445555"])
    error_message = "The functions read the member accounts (without their own) from FIREBREAK_MEMBER_ACCOUNT_IDS, which extra_environment cannot override."
  }

  assert {
    condition     = module.playbook["ec2-instance"].environment.FIREBREAK_MEMBER_ROLE_NAME == "fb-responder" && module.playbook["ec2-instance"].environment.FIREBREAK_MEMBER_EXTERNAL_ID == "ext-0123456789" && module.playbook["ec2-instance"].environment.FIREBREAK_PARTITION == "aws"
    error_message = "The functions read the role name, external id and partition from their environment."
  }
}

run "member_role_policies_carry_the_playbook_statements_without_firebreaks_own_resources" {
  variables {
    member_account_ids = ["222233334444"]
    playbooks          = { ec2-instance = { options = { online_capture = { enabled = true } } } }
  }

  assert {
    condition     = length(jsondecode(output.member_role_policies["ec2-instance"]).Statement) > 0
    error_message = "The member role needs the playbook's statements."
  }

  assert {
    condition     = length([for a in flatten([for s in jsondecode(output.member_role_policies["ec2-instance"]).Statement : s.Action]) : a if can(regex("^(dynamodb|sqs|sns|logs|sts):|^ssm:GetParameter$|^s3:PutObject$", a))]) == 0
    error_message = "Firebreak's own stores stay in the deployment account: the member role gets no statement about them, nor sts:AssumeRole."
  }

  assert {
    condition = length(setsubtract(
      toset(flatten([for s in jsondecode(output.member_role_policies["ec2-instance"]).Statement : s.Action if s.Effect == "Allow"])),
      toset(concat(module.playbook["ec2-instance"].granted_actions, module.release["ec2-instance"].granted_actions)),
    )) == 0
    error_message = "The member role is granted nothing the containment and release functions are not."
  }

  assert {
    condition = length(setsubtract(
      setsubtract(
        toset(concat(module.playbook["ec2-instance"].granted_actions, module.release["ec2-instance"].granted_actions)),
        toset(flatten([for s in jsondecode(output.member_role_policies["ec2-instance"]).Statement : s.Action if s.Effect == "Allow"])),
      ),
      toset(["iam:PassRole"]),
    )) == 0
    error_message = "The member role is granted every step action of the containment and release functions (iam:PassRole names roles of the deployment's account: see docs/decisions.md)."
  }

  assert {
    condition     = length(distinct([for s in jsondecode(output.member_role_policies["ec2-instance"]).Statement : s.Sid])) == length(jsondecode(output.member_role_policies["ec2-instance"]).Statement)
    error_message = "Statement ids must be unique within the member role's policy."
  }

  assert {
    condition     = length([for s in jsondecode(output.member_role_policies["ec2-instance"]).Statement : s if s.Effect == "Deny" && contains(s.Resource, "arn:aws:iam::MEMBER_ACCOUNT_ID:role/firebreak-*")]) >= 1
    error_message = "The deny on Firebreak's own roles applies in the member account (the member role among them)."
  }

  assert {
    condition     = !strcontains(output.member_role_policies["ec2-instance"], "123456789012:")
    error_message = "No ARN of the deployment's account may be left in the member role's policy."
  }
}

run "member_account_ids_must_be_account_ids" {
  command = plan

  variables {
    member_account_ids = ["2222-3333-4444"]
  }

  expect_failures = [var.member_account_ids]
}

run "member_role_name_has_no_path" {
  command = plan

  variables {
    member_role_name = "security/firebreak-responder"
  }

  expect_failures = [var.member_role_name]
}
