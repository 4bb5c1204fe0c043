variable "region" {
  description = "Region of the deployment: GuardDuty's administrator receives a region's findings in that region, so deploy once per region GuardDuty runs in (with its own name_prefix: IAM names are global)."
  type        = string
  default     = "eu-west-1"
}

variable "mode" {
  description = "observe (plan and record only), contain, or full. Start with observe."
  type        = string
  default     = "observe"
}

variable "workloads_account_id" {
  description = "A member account (12 digits) whose findings the pipeline acts on."
  type        = string
}

variable "sandbox_account_id" {
  description = "Another member account (12 digits)."
  type        = string
}

variable "member_access_role_name" {
  description = "Role Terraform assumes in each member account to deploy the member role (AWS Organizations creates OrganizationAccountAccessRole in the accounts it creates)."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "responder_principal_arns" {
  description = "Principals that may put manual findings and releases on the responders' bus (manual findings act only in the administrator account)."
  type        = list(string)
  default     = []
}

variable "notification_emails" {
  description = "E-mail addresses told about every incident status change, in any member account."
  type        = list(string)
  default     = []
}
