# Firebreak for an organization: the pipeline runs in GuardDuty's delegated administrator
# account, which receives every member's findings on its default bus (the event's `account` is
# the administrator's, `detail.accountId` the member's: docs/decisions.md). The functions act on a
# member's finding by assuming the member role this configuration deploys in each member account,
# with the pipeline's external id and a session named after the incident. The ledger, evidence
# bucket, queues and topic stay in the administrator account.
#
# Providers cannot be created per item of a list: each member account has a provider alias (here
# through OrganizationAccountAccessRole, which AWS Organizations creates in the accounts it
# creates) and a module block. For many accounts, deploy modules/member-role with a
# CloudFormation StackSet or your account-vending pipeline instead, with the same three inputs.

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "workloads"
  region = var.region

  assume_role {
    role_arn     = "arn:aws:iam::${var.workloads_account_id}:role/${var.member_access_role_name}"
    session_name = "firebreak-deploy"
  }
}

provider "aws" {
  alias  = "sandbox"
  region = var.region

  assume_role {
    role_arn     = "arn:aws:iam::${var.sandbox_account_id}:role/${var.member_access_role_name}"
    session_name = "firebreak-deploy"
  }
}

module "firebreak" {
  source = "../.."

  mode                     = var.mode
  member_account_ids       = [var.workloads_account_id, var.sandbox_account_id]
  responder_principal_arns = var.responder_principal_arns
  notification_emails      = var.notification_emails
}

# The member role in each member account: trusted only by the pipeline's function roles, with
# its external id, granted what the pipeline's playbooks are granted there, under the same
# permissions boundary as the pipeline's functions.
module "member_workloads" {
  source    = "../../modules/member-role"
  providers = { aws = aws.workloads }

  trusted_role_arns = module.firebreak.function_role_arns
  external_id       = module.firebreak.member_external_id
  policies          = module.firebreak.member_role_policies

  permissions_boundary_policy_json = module.firebreak.member_role_boundary_policy
}

module "member_sandbox" {
  source    = "../../modules/member-role"
  providers = { aws = aws.sandbox }

  trusted_role_arns = module.firebreak.function_role_arns
  external_id       = module.firebreak.member_external_id
  policies          = module.firebreak.member_role_policies

  permissions_boundary_policy_json = module.firebreak.member_role_boundary_policy
}
