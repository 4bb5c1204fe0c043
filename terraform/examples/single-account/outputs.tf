output "ledger_table_name" {
  description = "The ledger (`firebreak incidents --table …`)."
  value       = module.firebreak.ledger_table_name
}

output "responders_bus_name" {
  description = "The responders' bus (`firebreak contain`, `release --via-bus`)."
  value       = module.firebreak.responders_bus_name
}

output "event_bus_name" {
  description = "The bus the rules listen on."
  value       = module.firebreak.event_bus_name
}

output "second_region_ledger_table_name" {
  description = "The second region's ledger (null without a second region)."
  value       = try(module.firebreak_second_region[0].ledger_table_name, null)
}
