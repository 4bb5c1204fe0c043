# Organization, on the emulator: a pipeline in this account (as in GuardDuty's delegated
# administrator account) acting in two member accounts. Account 444455556666 has the member role;
# 555566667777 is configured as a member but has none, so its findings fail with the reason.
#
# The member provider reaches 444455556666 as AWS Organizations lets a management account reach
# its members: by assuming OrganizationAccountAccessRole there (scripts/lib/member-account.ts
# creates that role in the emulator before `terraform apply`, as Organizations does when it
# creates an account). The emulator serves cross-account AssumeRole: the credentials act in the
# role's account.

locals {
  member_with_role_account_id    = "444455556666"
  member_without_role_account_id = "555566667777"
}

provider "aws" {
  alias      = "member"
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  assume_role {
    role_arn     = "arn:aws:iam::${local.member_with_role_account_id}:role/OrganizationAccountAccessRole"
    session_name = "firebreak-local-member"
  }

  endpoints {
    iam = var.endpoint
    sts = var.endpoint
  }
}

resource "aws_cloudwatch_event_bus" "org" {
  name = "fb-org"
}

# The pipeline: contain mode, no forensics (a forensic subnet of this account means nothing in a
# member), acting in its own account and the two members.
module "org" {
  source = "../.."

  name_prefix        = "fb-org"
  playbooks          = local.ec2_only
  mode               = "contain"
  event_bus_name     = aws_cloudwatch_event_bus.org.name
  dist_dir           = local.dist_dir
  member_account_ids = [local.member_with_role_account_id, local.member_without_role_account_id]

  follow_up_delay_seconds = local.local_defaults.follow_up_delay_seconds
  max_follow_ups          = local.local_defaults.max_follow_ups

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
  ledger_deletion_protection              = local.local_defaults.ledger_deletion_protection
}

# The member role in 444455556666: trusted only by the pipeline's function roles, with its
# external id, granted what the pipeline's playbooks are granted.
module "member_role" {
  source    = "../../modules/member-role"
  providers = { aws = aws.member }

  trusted_role_arns = module.org.function_role_arns
  external_id       = module.org.member_external_id
  policies          = module.org.member_role_policies
}

output "org" {
  description = "Organization pipeline (bus fb-org, member accounts 444455556666 with the member role and 555566667777 without): ledger_table_name, evidence_bucket_name, event_bus_name, playbooks, member accounts and role."
  value = {
    ledger_table_name      = module.org.ledger_table_name
    evidence_bucket_name   = module.org.evidence_bucket_name
    event_bus_name         = module.org.event_bus_name
    responders_bus_name    = module.org.responders_bus_name
    playbooks              = module.org.playbooks
    notification_topic_arn = module.org.notification_topic_arn
    member_external_id     = module.org.member_external_id
    member_with_role       = local.member_with_role_account_id
    member_without_role    = local.member_without_role_account_id
    member_role_arn        = module.member_role.role_arn
  }
}
