# What each function's role is granted follows its mode and options (dist/<playbook>.iam.json
# lists, per step, the modes and options that enable its actions).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_instance_profile" {
    defaults = { role_arn = "arn:aws:iam::123456789012:role/firebreak-isolation-role" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:us-east-1:123456789012:mock-queue"
      url = "https://sqs.us-east-1.amazonaws.com/123456789012/mock-queue"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock-role" }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/firebreak-isolation" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/mock-rule" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:mock-function" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/mock-function" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mock-ledger" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock-evidence" }
  }
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
