variable "name" {
  description = "Name of the role (the pipeline's `member_role_name`, default `firebreak-responder`)."
  type        = string
  default     = "firebreak-responder"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be an IAM role name: 1-64 letters, digits and +=,.@_- (no path)."
  }
}

variable "trusted_role_arns" {
  description = "The pipeline's function roles (its output `function_role_arns`), the only principals that may assume this role. Add each region's roles when the pipeline is deployed in several."
  type        = list(string)

  validation {
    condition     = length(var.trusted_role_arns) > 0 && alltrue([for a in var.trusted_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "trusted_role_arns must list at least one IAM role ARN (the pipeline's output function_role_arns), e.g. \"arn:aws:iam::111122223333:role/firebreak-ec2-instance\"; wildcards are not allowed."
  }
}

variable "external_id" {
  description = "External id the pipeline's functions present (the pipeline's output `member_external_id`); the trust policy requires it (`sts:ExternalId`)."
  type        = string

  validation {
    condition     = length(var.external_id) >= 2 && length(var.external_id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.external_id))
    error_message = "external_id must be 2-1224 characters of letters, digits and +=,.@:/_- (the pipeline's output member_external_id)."
  }
}

variable "policies" {
  description = "Per playbook, the policy document (JSON) the role is granted: the pipeline's output `member_role_policies` (what each function's steps are granted, without Firebreak's own resources). `MEMBER_ACCOUNT_ID` in it is replaced with this account's id. One managed policy per playbook (at most 6,144 characters each)."
  type        = map(string)

  validation {
    condition     = alltrue([for p in values(var.policies) : can(jsondecode(p).Statement)])
    error_message = "policies must map playbook names to IAM policy documents in JSON (the pipeline's output member_role_policies)."
  }
}

variable "permissions_boundary_policy_json" {
  description = "Optional permissions boundary (a policy document in JSON, e.g. the pipeline's boundary output): created as a managed policy in this account and set as the role's boundary. Null: no boundary."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_policy_json == null || can(jsondecode(var.permissions_boundary_policy_json).Statement)
    error_message = "permissions_boundary_policy_json must be an IAM policy document in JSON, or null."
  }
}

variable "max_session_duration_seconds" {
  description = "Longest session the functions may ask for (3600-43200 s); they ask for 3600 s."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration_seconds >= 3600 && var.max_session_duration_seconds <= 43200
    error_message = "max_session_duration_seconds must be from 3600 to 43200."
  }
}

variable "tags" {
  description = "Tags for the role and its policies."
  type        = map(string)
  default     = {}
}
