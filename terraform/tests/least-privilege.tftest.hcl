# What each function's role is granted: the statements of the real manifest (dist/<playbook>.iam.json,
# kept as tests/fixtures/playbooks by `make build`) that its role (containment or release), mode
# and options enable, on the resources and conditions of shared/iam, under the permissions boundary.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  mode                 = "contain"
  dist_dir             = "tests/fixtures/playbooks"
  protected_principals = ["arn:aws:iam::*:role/BreakGlass*"]
}

run "observe_mode_grants_describe_only_and_deploys_no_release_function" {
  variables {
    mode = "observe"
  }

  assert {
    condition     = module.playbook["ec2-instance"].granted_actions == tolist(["ec2:DescribeInstances", "ec2:DescribeSecurityGroups"])
    error_message = "An observe function must be granted only what describe reads: it changes nothing."
  }

  assert {
    condition     = length(module.release) == 0
    error_message = "observe mode contains nothing: no release function (a responder releases with the CLI, as themself)."
  }

  assert {
    condition     = length([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Effect == "Deny"]) == 0
    error_message = "Without IAM writes there is nothing to deny."
  }
}

run "contain_mode_grants_containment_only_and_release_gets_only_the_undos" {
  assert {
    condition     = length(setintersection(module.playbook["ec2-instance"].granted_actions, ["ssm:SendCommand", "ec2:RunInstances", "ec2:StopInstances", "ec2:CopySnapshot", "ec2:ModifySnapshotAttribute"])) == 0
    error_message = "contain mode without online capture or forensics: no Run Command, no RunInstances, no StopInstances, no copies."
  }

  assert {
    condition     = length(setintersection(module.playbook["ec2-instance"].granted_actions, ["ec2:AssociateAddress", "autoscaling:AttachInstances", "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:RegisterInstancesWithLoadBalancer", "iam:DeleteRolePolicy"])) == 0
    error_message = "The containment function must hold none of the undos: releases run in the release function."
  }

  assert {
    condition     = length(setintersection(module.release["ec2-instance"].granted_actions, ["ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupEgress", "autoscaling:DetachInstances", "iam:PutRolePolicy", "ec2:CreateSnapshots", "ssm:SendCommand"])) == 0
    error_message = "The release function must hold none of the containment steps."
  }

  assert {
    condition     = length(setsubtract(["ec2:AssociateAddress", "autoscaling:AttachInstances", "elasticloadbalancing:RegisterTargets", "iam:DeleteRolePolicy", "ec2:ModifyNetworkInterfaceAttribute"], module.release["ec2-instance"].granted_actions)) == 0
    error_message = "The release function must be granted the undos."
  }

  assert {
    condition     = module.release["ec2-instance"].environment.FIREBREAK_FUNCTION_ROLE == "release" && module.playbook["ec2-instance"].environment.FIREBREAK_FUNCTION_ROLE == "contain"
    error_message = "Each function must know which messages it handles."
  }

  assert {
    condition     = jsondecode(module.release["ec2-instance"].manual_pattern)["detail-type"] == ["Firebreak Manual Release"] && !contains(jsondecode(module.playbook["ec2-instance"].manual_pattern)["detail-type"], "Firebreak Manual Release") && contains(jsondecode(module.playbook["ec2-instance"].manual_pattern)["detail-type"], "Firebreak Manual Finding")
    error_message = "Releases must reach the release function only, manual findings the containment function only."
  }
}

run "no_unscoped_write_and_no_wildcard_action" {
  command = plan

  variables {
    mode = "full"
    playbooks = {
      ec2-instance = {
        options = {
          forensics = {
            launch = { ami_id = "ami-0abcdef1234567890", subnet_id = "subnet-0abcdef1234567890", security_group_ids = ["sg-0abcdef1234567890"] }
            copy   = { account_id = "999988887777", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
          }
          online_capture = { enabled = true, memory_capture_command = "/opt/avml /tmp/mem.lime" }
          malware_scan   = true
        }
      }
    }
  }

  # On "*" only what supports no resource-level permission (shared/iam lists each with its reason).
  assert {
    condition = alltrue(flatten([
      for role in [module.playbook["ec2-instance"].role_policy, module.release["ec2-instance"].role_policy] : [
        for s in role.Statement : [
          for a in flatten([s.Action]) : can(regex("^(ec2|autoscaling|elasticloadbalancing):Describe", a)) || contains(["ssm:DescribeInstanceInformation", "ssm:GetCommandInvocation", "ssm:ListCommands", "guardduty:StartMalwareScan"], a)
        ] if s.Effect == "Allow" && contains(flatten([s.Resource]), "*")
      ]
    ]))
    error_message = "Only Describe actions, SSM's two reads and StartMalwareScan (no resource-level permissions) may be granted on \"*\"."
  }

  assert {
    condition     = alltrue(flatten([for role in [module.playbook["ec2-instance"].role_policy, module.release["ec2-instance"].role_policy] : [for s in role.Statement : [for a in flatten([s.Action]) : !strcontains(a, "*") || s.Effect == "Deny"]]]))
    error_message = "No action may be granted with a wildcard."
  }

  assert {
    condition     = length(replace(jsonencode(module.playbook["ec2-instance"].role_policy), "/\\s/", "")) < 10240
    error_message = "IAM allows 10,240 characters of inline policy per role."
  }

  assert {
    condition     = !can(regex("\\{[a-z_]+\\}", jsonencode(module.playbook["ec2-instance"].role_policy)))
    error_message = "Every placeholder must be rendered."
  }
}

run "security_group_rules_only_on_firebreak_groups_created_tagged" {
  command = plan

  assert {
    condition = alltrue([
      for s in module.playbook["ec2-instance"].role_policy.Statement :
      s.Condition == { StringEquals = { "aws:ResourceTag/firebreak:purpose" = ["isolation", "untracking", "rds-isolation"] } } || s.Condition == { StringLike = { "aws:ResourceTag/firebreak:emptied-by" = "*" } }
      if contains(flatten([s.Action]), "ec2:AuthorizeSecurityGroupIngress") || contains(flatten([s.Action]), "ec2:AuthorizeSecurityGroupEgress")
    ])
    error_message = "Rules may be authorised only on groups Firebreak tagged: its own (firebreak:purpose), or one whose rules it revoked and holds for release (firebreak:emptied-by)."
  }

  assert {
    condition = one([
      for s in module.playbook["ec2-instance"].role_policy.Statement : s
      if contains(flatten([s.Action]), "ec2:CreateSecurityGroup") && contains(flatten([s.Resource]), "arn:aws:ec2:us-east-1:123456789012:security-group/*")
    ]).Condition == { StringEquals = { "aws:RequestTag/firebreak:purpose" = ["isolation", "untracking", "rds-isolation"] } }
    error_message = "A group may be created only with Firebreak's purpose tag."
  }

  assert {
    condition = alltrue([
      for s in module.playbook["ec2-instance"].role_policy.Statement :
      try(s.Condition.StringEquals["ec2:CreateAction"], null) != null || try(s.Condition["ForAllValues:StringLike"]["aws:TagKeys"], null) == ["firebreak:*"]
      if contains(flatten([s.Action]), "ec2:CreateTags")
    ])
    error_message = "Tags only while creating a resource, or Firebreak's own keys on existing instances: never a firebreak:purpose tag on someone else's group."
  }
}

run "role_policy_writes_denied_on_protected_own_and_service_roles" {
  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "NeverProtectedOwnOrServiceRoles"]).Resource == [
      "arn:aws:iam::123456789012:role/mock-role",
      "arn:aws:iam::123456789012:role/firebreak-*",
      "arn:aws:iam::*:role/BreakGlass*",
      "arn:aws:iam::123456789012:role/aws-service-role/*",
    ]
    error_message = "Inline-policy writes must be denied on the function's own role, every Firebreak role, protected principals and service-linked roles."
  }

  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if contains(flatten([s.Action]), "iam:PutRolePolicy") && s.Effect == "Allow"]).Resource == [
      "arn:aws:iam::123456789012:role/*"
    ]
    error_message = "Role policy writes only on roles of this account."
  }

  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if contains(flatten([s.Action]), "iam:CreateServiceLinkedRole")]).Condition == {
      StringEquals = { "iam:AWSServiceName" = "malware-protection.guardduty.amazonaws.com" }
    }
    error_message = "CreateServiceLinkedRole only for GuardDuty Malware Protection."
  }
}

run "online_capture_grants_run_command_on_firebreak_documents_only" {
  command = plan

  variables {
    playbooks = { ec2-instance = { options = { online_capture = { enabled = true } } } }
  }

  assert {
    condition     = contains(module.playbook["ec2-instance"].granted_actions, "ssm:SendCommand")
    error_message = "Online capture needs ssm:SendCommand."
  }

  assert {
    condition = alltrue(flatten([
      for s in module.playbook["ec2-instance"].role_policy.Statement : [
        for r in flatten([s.Resource]) : can(regex("^arn:aws:ssm:us-east-1:123456789012:document/firebreak-", r)) || can(regex("^arn:aws:ec2:us-east-1:123456789012:instance/", r))
      ] if contains(flatten([s.Action]), "ssm:SendCommand")
    ]))
    error_message = "SendCommand only on Firebreak's own documents (never AWS-RunShellScript) and instances of the account."
  }

  assert {
    condition     = !contains(module.playbook["ec2-instance"].granted_actions, "ec2:RunInstances")
    error_message = "RunInstances needs forensics.launch."
  }
}

run "a_forensic_launch_grants_run_instances_on_its_ami_subnet_and_groups" {
  command = plan

  variables {
    playbooks = { ec2-instance = { options = { forensics = { launch = { ami_id = "ami-0abcdef1234567890", subnet_id = "subnet-0abcdef1234567890", security_group_ids = ["sg-0abcdef1234567890"] } } } } }
  }

  assert {
    condition = toset(flatten([for s in module.playbook["ec2-instance"].role_policy.Statement : flatten([s.Resource]) if contains(flatten([s.Action]), "ec2:RunInstances")])) == toset([
      "arn:aws:ec2:us-east-1::image/ami-0abcdef1234567890",
      "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0abcdef1234567890",
      "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0abcdef1234567890",
      "arn:aws:ec2:us-east-1:123456789012:network-interface/*",
      "arn:aws:ec2:us-east-1:123456789012:volume/*",
      "arn:aws:ec2:us-east-1:123456789012:instance/*",
    ])
    error_message = "RunInstances only with the forensic AMI, subnet and groups."
  }

  assert {
    condition = one([
      for s in module.playbook["ec2-instance"].role_policy.Statement : s
      if contains(flatten([s.Action]), "ec2:RunInstances") && contains(flatten([s.Resource]), "arn:aws:ec2:us-east-1:123456789012:instance/*")
    ]).Condition == { StringEquals = { "aws:RequestTag/firebreak:purpose" = "forensic" } }
    error_message = "Only a forensic instance, tagged so at launch."
  }
}

run "an_existing_forensic_instance_grants_no_run_instances" {
  command = plan

  variables {
    playbooks = { ec2-instance = { options = { forensics = { instance_id = "i-0abcdef1234567890" } } } }
  }

  assert {
    condition     = !contains(module.playbook["ec2-instance"].granted_actions, "ec2:RunInstances")
    error_message = "With forensics.instance_id nothing is launched: no ec2:RunInstances."
  }
}

run "snapshots_are_shared_with_the_forensic_account_only_and_keys_used_for_aws_resources_only" {
  command = plan

  variables {
    playbooks = {
      ec2-instance = {
        options = {
          forensics = {
            instance_id = "i-0abcdef1234567890"
            copy        = { account_id = "999988887777", kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" }
          }
        }
      }
    }
  }

  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if contains(flatten([s.Action]), "ec2:ModifySnapshotAttribute")]).Condition == {
      StringEquals = { "ec2:Add/userId" = "999988887777" }
      StringLike   = { "aws:ResourceTag/firebreak:incident-id" = "*" }
    }
    error_message = "Snapshots Firebreak made may be shared with the forensic account only."
  }

  assert {
    condition = alltrue([
      for s in module.playbook["ec2-instance"].role_policy.Statement :
      flatten([s.Resource]) == ["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
      if length([for a in flatten([s.Action]) : a if startswith(a, "kms:")]) > 0 && s.Sid != "FirebreakKey" && s.Sid != "NotifyKey"
    ])
    error_message = "EBS's KMS actions only on the forensic copy key."
  }

  assert {
    condition = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if contains(flatten([s.Action]), "kms:CreateGrant")]).Condition == {
      Bool = { "kms:GrantIsForAWSResource" = "true" }
    }
    error_message = "KMS grants only for an AWS service (EBS) acting for the function."
  }
}

run "full_mode_grants_the_stop" {
  command = plan

  variables {
    mode = "full"
  }

  assert {
    condition     = contains(module.playbook["ec2-instance"].granted_actions, "ec2:StopInstances")
    error_message = "full mode stops the instance for offline investigation."
  }
}

run "a_playbook_mode_decides_its_grants" {
  command = plan

  variables {
    mode      = "full"
    playbooks = { ec2-instance = { mode = "observe" } }
  }

  assert {
    condition     = module.playbook["ec2-instance"].granted_actions == tolist(["ec2:DescribeInstances", "ec2:DescribeSecurityGroups"])
    error_message = "playbooks.<name>.mode = observe must leave the function read-only whatever the module-wide mode."
  }
}

run "own_stores_are_granted_on_exactly_their_resources" {
  command = plan

  assert {
    condition     = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "Ledger"]).Resource == [aws_dynamodb_table.ledger.arn]
    error_message = "Ledger access must be scoped to the ledger table."
  }

  assert {
    condition     = one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "EvidenceObjects"]).Action == ["s3:PutObject"]
    error_message = "The evidence statement must grant exactly the S3 actions the code declares, on objects only."
  }

  assert {
    condition     = contains(one([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "OwnQueue"]).Action, "sqs:SendMessage")
    error_message = "The function must be able to re-queue a finding on its own queue for follow-ups."
  }
}

run "every_function_role_is_under_the_boundary" {
  command = plan

  assert {
    condition     = module.playbook["ec2-instance"].role_permissions_boundary == aws_iam_policy.boundary.arn && module.release["ec2-instance"].role_permissions_boundary == aws_iam_policy.boundary.arn
    error_message = "Every function role must carry the permissions boundary."
  }

  assert {
    condition     = length(setsubtract(module.playbook["ec2-instance"].granted_actions, jsondecode(aws_iam_policy.boundary.policy).Statement[0].Action)) == 0
    error_message = "The boundary must allow everything a function is granted (or the function breaks)."
  }

  assert {
    condition     = !contains(jsondecode(aws_iam_policy.boundary.policy).Statement[0].Action, "iam:CreateUser") && !contains(jsondecode(aws_iam_policy.boundary.policy).Statement[0].Action, "iam:DeleteRole")
    error_message = "The boundary must not allow what no Firebreak step declares."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_policy.boundary.policy).Statement : s if s.Sid == "NeverLiftTheBoundary"]).Effect == "Deny"
    error_message = "A function must never lift its own boundary."
  }
}
