# What each function's role is granted follows its mode and options (dist/<playbook>.iam.json
# lists, per step, the modes and options that enable its actions).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  mode     = "contain"
  dist_dir = "tests/fixtures/playbooks"
}

run "observe_mode_grants_describe_only" {

  variables {
    mode = "observe"
  }

  assert {
    condition     = module.playbook["ec2-instance"].granted_actions == tolist(["ec2:DescribeInstances"])
    error_message = "An observe function must be granted only what describe reads: it changes nothing."
  }

  assert {
    condition     = length([for s in module.playbook["ec2-instance"].role_policy.Statement : s if s.Sid == "NeverChangeOwnRole"]) == 0
    error_message = "Without IAM writes there is nothing to deny on the function's own role."
  }
}

run "contain_mode_grants_containment_but_not_full_mode_or_unset_options" {
  command = plan

  assert {
    condition     = module.playbook["ec2-instance"].granted_actions == tolist(["ec2:DescribeInstances", "ec2:ModifyNetworkInterfaceAttribute"])
    error_message = "contain mode without online capture or forensics: no Run Command, no RunInstances, no StopInstances."
  }
}

run "online_capture_grants_run_command" {
  command = plan

  variables {
    playbooks = { ec2-instance = { options = { online_capture = { enabled = true } } } }
  }

  assert {
    condition     = contains(module.playbook["ec2-instance"].granted_actions, "ssm:SendCommand")
    error_message = "Online capture needs ssm:SendCommand."
  }

  assert {
    condition     = !contains(module.playbook["ec2-instance"].granted_actions, "ec2:RunInstances")
    error_message = "RunInstances needs forensics.launch."
  }
}

run "a_forensic_launch_grants_run_instances" {
  command = plan

  variables {
    playbooks = { ec2-instance = { options = { forensics = { launch = { ami_id = "ami-0abcdef1234567890", subnet_id = "subnet-0abcdef1234567890" } } } } }
  }

  assert {
    condition     = contains(module.playbook["ec2-instance"].granted_actions, "ec2:RunInstances")
    error_message = "forensics.launch needs ec2:RunInstances."
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
    condition     = module.playbook["ec2-instance"].granted_actions == tolist(["ec2:DescribeInstances"])
    error_message = "playbooks.<name>.mode = observe must leave the function read-only whatever the module-wide mode."
  }
}
