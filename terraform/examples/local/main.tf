# The local pipeline: four Firebreak instances against an emulator. Every event source mapping
# is disabled because moto, finding an enabled one, invokes the function itself (needs Docker),
# fails, and redrives the messages to the DLQ; the tests poll the queues and run the handlers.

provider "aws" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  endpoints {
    dynamodb = var.endpoint
    events   = var.endpoint
    iam      = var.endpoint
    lambda   = var.endpoint
    logs     = var.endpoint
    s3       = var.endpoint
    sqs      = var.endpoint
    sts      = var.endpoint
  }
}

locals {
  dist_dir = abspath(var.dist_dir)

  # Short retry paths so the end-to-end tests see redrives within seconds.
  local_defaults = {
    lambda_timeout_seconds        = 5
    event_source_mapping_enabled  = false
    evidence_bucket_force_destroy = true
    # The emulator is served over plain HTTP on loopback, so a TLS-only bucket policy would
    # (rightly) refuse every evidence write. In AWS the module keeps the policy on.
    evidence_bucket_deny_insecure_transport = false
  }
}

# The main pipeline, on the default bus: what GuardDuty findings reach.
module "firebreak" {
  source = "../.."

  name_prefix    = "firebreak"
  mode           = "contain"
  event_bus_name = "default"
  dist_dir       = local.dist_dir

  max_receive_count          = 3
  visibility_timeout_seconds = 5

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
}

# The variants below listen on their own buses, so an event meant for one of them does not also
# reach the main pipeline.

resource "aws_cloudwatch_event_bus" "observe" {
  name = "fb-observe"
}

# Records and plans, changes nothing.
module "observe" {
  source = "../.."

  name_prefix    = "fb-observe"
  mode           = "observe"
  event_bus_name = aws_cloudwatch_event_bus.observe.name
  dist_dir       = local.dist_dir

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
}

resource "aws_cloudwatch_event_bus" "limited" {
  name = "fb-limited"
}

# Contains at most one resource per window: the second finding must be left alone.
module "limited" {
  source = "../.."

  name_prefix        = "fb-limited"
  mode               = "contain"
  event_bus_name     = aws_cloudwatch_event_bus.limited.name
  dist_dir           = local.dist_dir
  blast_radius_limit = 1

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
}

resource "aws_cloudwatch_event_bus" "retry" {
  name = "fb-retry"
}

# Every Auto Scaling call goes to a closed port and fails with a retryable connection error, so
# the tests can show that retries end in the DLQ.
module "retry" {
  source = "../.."

  name_prefix    = "fb-retry"
  mode           = "contain"
  event_bus_name = aws_cloudwatch_event_bus.retry.name
  dist_dir       = local.dist_dir

  max_receive_count          = 2
  visibility_timeout_seconds = 2
  lambda_timeout_seconds     = 2

  extra_environment = {
    AWS_ENDPOINT_URL_AUTO_SCALING = "http://127.0.0.1:9"
  }

  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
}
