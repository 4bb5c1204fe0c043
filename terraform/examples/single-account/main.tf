# Firebreak in one account: the pipeline acts on the account's own GuardDuty findings in its
# region. A second region of the same account is a second instance of the module with its own
# provider and its own name_prefix: IAM role names are global to the account, so two regions
# with one prefix would collide (S3 bucket names already carry the account and region).

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "second_region"
  region = coalesce(var.second_region, var.region)
}

module "firebreak" {
  source = "../.."

  name_prefix              = var.name_prefix
  mode                     = var.mode
  responder_principal_arns = var.responder_principal_arns
  notification_emails      = var.notification_emails
}

module "firebreak_second_region" {
  source = "../.."
  count  = var.second_region == null ? 0 : 1

  providers = { aws = aws.second_region }

  name_prefix              = "${var.name_prefix}-${var.second_region}"
  mode                     = var.mode
  responder_principal_arns = var.responder_principal_arns
  notification_emails      = var.notification_emails
}
