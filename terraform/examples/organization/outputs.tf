output "ledger_table_name" {
  description = "The ledger, in the administrator account: every member's incidents."
  value       = module.firebreak.ledger_table_name
}

output "responders_bus_name" {
  description = "The responders' bus (`firebreak contain`, `release --via-bus`)."
  value       = module.firebreak.responders_bus_name
}

output "event_bus_name" {
  description = "The bus the rules listen on (the administrator's default bus, where GuardDuty publishes members' findings)."
  value       = module.firebreak.event_bus_name
}

output "member_role_arns" {
  description = "The member roles the functions assume, per member account."
  value = {
    (var.workloads_account_id) = module.member_workloads.role_arn
    (var.sandbox_account_id)   = module.member_sandbox.role_arn
  }
}
