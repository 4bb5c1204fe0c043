output "role_arn" {
  description = "ARN of the member role (the pipeline assumes `arn:<partition>:iam::<this account>:role/<name>`)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the member role."
  value       = aws_iam_role.this.name
}

output "trust_policy" {
  description = "The role's trust policy, decoded."
  value       = try(jsondecode(aws_iam_role.this.assume_role_policy), null)
}

output "policy_arns" {
  description = "Per playbook, the ARN of the managed policy attached to the role."
  value       = { for name, p in aws_iam_policy.playbook : name => p.arn }
}

output "policies" {
  description = "Per playbook, the policy document attached to the role, decoded (this account's id in place of `MEMBER_ACCOUNT_ID`)."
  value       = { for name, p in aws_iam_policy.playbook : name => try(jsondecode(p.policy), null) }
}

output "permissions_boundary_arn" {
  description = "ARN of the role's permissions boundary (null without one)."
  value       = try(aws_iam_policy.boundary[0].arn, null)
}
