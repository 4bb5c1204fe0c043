variable "region" {
  description = "Region of the deployment (GuardDuty findings are regional: deploy in every region GuardDuty runs in)."
  type        = string
  default     = "eu-west-1"
}

variable "second_region" {
  description = "Optional second region of the same account (null: none). Its resources are named `<name_prefix>-<region>`."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "firebreak"
}

variable "mode" {
  description = "observe (plan and record only), contain, or full. Start with observe."
  type        = string
  default     = "observe"
}

variable "responder_principal_arns" {
  description = "Principals that may put manual findings and releases on the responders' bus."
  type        = list(string)
  default     = []
}

variable "notification_emails" {
  description = "E-mail addresses told about every incident status change."
  type        = list(string)
  default     = []
}
