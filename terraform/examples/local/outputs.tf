output "endpoint" {
  description = "URL of the emulator the pipeline was applied to."
  value       = var.endpoint
}

output "firebreak" {
  description = "Main pipeline (mode contain, default bus): ledger_table_name, evidence_bucket_name, event_bus_name, playbooks, notification_topic_arn, catch_all."
  value = {
    ledger_table_name      = module.firebreak.ledger_table_name
    evidence_bucket_name   = module.firebreak.evidence_bucket_name
    event_bus_name         = module.firebreak.event_bus_name
    responders_bus_name    = module.firebreak.responders_bus_name
    playbooks              = module.firebreak.playbooks
    notification_topic_arn = module.firebreak.notification_topic_arn
    catch_all              = module.firebreak.catch_all
  }
}

output "observe" {
  description = "Observe-mode pipeline (bus fb-observe): ledger_table_name, evidence_bucket_name, event_bus_name, pause_parameter_name, playbooks."
  value = {
    ledger_table_name    = module.observe.ledger_table_name
    evidence_bucket_name = module.observe.evidence_bucket_name
    event_bus_name       = module.observe.event_bus_name
    responders_bus_name  = module.observe.responders_bus_name
    pause_parameter_name = module.observe.pause_parameter_name
    playbooks            = module.observe.playbooks
  }
}

output "limited" {
  description = "Blast-radius-limited pipeline (limit 1, bus fb-limited): ledger_table_name, evidence_bucket_name, event_bus_name, playbooks."
  value = {
    ledger_table_name      = module.limited.ledger_table_name
    evidence_bucket_name   = module.limited.evidence_bucket_name
    event_bus_name         = module.limited.event_bus_name
    responders_bus_name    = module.limited.responders_bus_name
    playbooks              = module.limited.playbooks
    notification_topic_arn = module.limited.notification_topic_arn
  }
}

output "retry" {
  description = "Retry pipeline (Auto Scaling unreachable, max_receive_count 2, bus fb-retry): ledger_table_name, evidence_bucket_name, event_bus_name, playbooks."
  value = {
    ledger_table_name    = module.retry.ledger_table_name
    evidence_bucket_name = module.retry.evidence_bucket_name
    event_bus_name       = module.retry.event_bus_name
    responders_bus_name  = module.retry.responders_bus_name
    playbooks            = module.retry.playbooks
  }
}

output "full" {
  description = "Full-mode pipeline (bus fb-full): ledger_table_name, evidence_bucket_name, event_bus_name, playbooks."
  value = {
    ledger_table_name    = module.full.ledger_table_name
    evidence_bucket_name = module.full.evidence_bucket_name
    event_bus_name       = module.full.event_bus_name
    responders_bus_name  = module.full.responders_bus_name
    playbooks            = module.full.playbooks
  }
}

output "forensics" {
  description = "Where the main pipeline's forensic instances go, and the key of the copies."
  value = {
    subnet_id         = aws_subnet.forensics.id
    availability_zone = aws_subnet.forensics.availability_zone
    kms_key_arn       = aws_kms_key.forensics.arn
  }
}

output "storm" {
  description = "Storm pipeline (EC2 playbook with default options, blast radius 1000, bus fb-storm): ledger_table_name, evidence_bucket_name, event_bus_name, playbooks."
  value = {
    ledger_table_name    = module.storm.ledger_table_name
    evidence_bucket_name = module.storm.evidence_bucket_name
    event_bus_name       = module.storm.event_bus_name
    responders_bus_name  = module.storm.responders_bus_name
    playbooks            = module.storm.playbooks
  }
}
