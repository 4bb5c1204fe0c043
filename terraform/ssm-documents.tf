locals {
  # Firebreak's own Run Command documents: ssm:SendCommand is granted on these only.
  ssm_document_arns = [for name in ["volatile-data"] : "arn:${local.partition}:ssm:${local.region}:${local.account_id}:document/${var.name_prefix}-${name}"]
}
