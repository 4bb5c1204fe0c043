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
    cloudwatch = var.endpoint
    dynamodb   = var.endpoint
    ec2        = var.endpoint
    events     = var.endpoint
    iam        = var.endpoint
    kms        = var.endpoint
    lambda     = var.endpoint
    logs       = var.endpoint
    s3         = var.endpoint
    sns        = var.endpoint
    sqs        = var.endpoint
    sts        = var.endpoint
  }
}

# Who the CLI and the tests are on the emulator: moto answers GetCallerIdentity for the `test`
# keys with arn:aws:sts::123456789012:user/moto, and its bus-policy patch takes that ARN as the
# caller's aws:PrincipalArn. Naming it a responder lets `firebreak contain` / `release --via-bus`
# and the tests put manual events on the responders' buses; any other principal of the account
# (an IAM user with its own key) is refused there by the bus policy, as in AWS.
data "aws_caller_identity" "current" {}

locals {
  dist_dir = abspath(var.dist_dir)

  # The forensic account snapshot copies are shared with (the emulator has no such account).
  forensic_account_id      = "222222222222"
  responder_principal_arns = [data.aws_caller_identity.current.arn]

  # The variant pipelines test the engine (observe mode, the blast radius, retries, the
  # organization) on the EC2 playbook: the other playbooks are deployed by the main and full
  # pipelines only, which keeps `make demo` and the end-to-end setup short. (An attribute for a
  # playbook this version does not have is dropped by Terraform's object conversion.)
  ec2_only = { for name in ["s3-bucket", "iam-user", "iam-role", "account", "ecs-task", "container", "rds-instance"] : name => { enabled = false } }

  local_defaults = {
    # A containment with forensic copies makes ~60 calls; on a loaded two-core machine the
    # emulator can take more than 5 s for them. The retry pipeline keeps 10 s timeouts so its
    # redrives happen within seconds.
    lambda_timeout_seconds        = 30
    event_source_mapping_enabled  = false
    evidence_bucket_force_destroy = true
    # The emulator is served over plain HTTP on loopback, so a TLS-only bucket policy would
    # (rightly) refuse every evidence write. In AWS the module keeps the policy on.
    evidence_bucket_deny_insecure_transport = false
    # The emulator is reset between runs; in AWS the ledger keeps its deletion protection.
    ledger_deletion_protection = false
    # Follow-ups (steps waiting on AWS) come back at once and give up soon.
    follow_up_delay_seconds = 1
    max_follow_ups          = 5
  }
}

# Where investigators work: a subnet in another Availability Zone than the demo's instances
# (moto starts Auto Scaling instances in us-east-1a), so forensic volumes must be created in
# us-east-1b from the regional snapshots.
resource "aws_vpc" "forensics" {
  #checkov:skip=CKV2_AWS_11:A stand-in for the investigators' VPC on the local emulator, which carries no traffic to log; a real forensic VPC is the user's, with its own flow logs.
  #checkov:skip=CKV2_AWS_12:A stand-in for the investigators' VPC on the local emulator, where no instance talks to another; forensic instances get the groups the playbook gives them, never this VPC's default group rules.
  cidr_block = "10.99.0.0/16"
  tags       = { Name = "firebreak-forensics" }
}

resource "aws_subnet" "forensics" {
  vpc_id            = aws_vpc.forensics.id
  cidr_block        = "10.99.1.0/24"
  availability_zone = "us-east-1b"
  tags              = { Name = "firebreak-forensics-us-east-1b" }
}

# The key snapshot copies for the forensic account are re-encrypted with: this account administers
# and uses it through IAM, the forensic account may use it to copy the shared snapshots.
resource "aws_kms_key" "forensics" {
  description             = "Firebreak local: snapshot copies shared with the forensic account"
  deletion_window_in_days = 7
  enable_key_rotation     = true

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # What another account needs to copy an encrypted snapshot shared with it.
        Sid       = "ForensicAccountCopiesSharedSnapshots"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${local.forensic_account_id}:root" }
        Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"]
        Resource  = "*"
      },
    ]
  })
}

# The main pipeline, on the default bus: what GuardDuty findings reach. It launches a forensic
# instance per incident, copies the snapshots for a forensic account (222222222222), and tries
# online capture through SSM (moto runs no commands: the ledger records what happened).
module "firebreak" {
  source = "../.."

  name_prefix              = "firebreak"
  mode                     = "contain"
  event_bus_name           = "default"
  dist_dir                 = local.dist_dir
  responder_principal_arns = local.responder_principal_arns

  max_receive_count          = 3
  visibility_timeout_seconds = 30
  # Every end-to-end test contains its own scenario on this pipeline within the hour; the
  # limit itself is tested on fb-limited.
  blast_radius_limit = 100
  # Break-glass roles and users the identity playbooks must never touch (test/e2e/iam-role.test.ts
  # and iam-user.test.ts create them).
  protected_principals = ["arn:aws:iam::*:role/break-glass-*", "arn:aws:iam::${data.aws_caller_identity.current.account_id}:user/e2e-break-glass-*"]

  playbooks = {
    ec2-instance = {
      options = {
        forensics = {
          launch = {
            ami_id        = var.forensic_ami_id
            subnet_id     = aws_subnet.forensics.id
            instance_type = "t3.large"
          }
          copy = {
            account_id  = local.forensic_account_id
            kms_key_arn = aws_kms_key.forensics.arn
          }
        }
        # Deploys both of Firebreak's SSM documents (firebreak-volatile-data, firebreak-memory-capture).
        online_capture = { enabled = true, wait_seconds = 2, memory_capture_command = "/opt/avml/avml --compress \"/tmp/$${FIREBREAK_INCIDENT_ID}.lime\" && aws s3 cp \"/tmp/$${FIREBREAK_INCIDENT_ID}.lime\" \"$FIREBREAK_MEMORY_S3_URI/\"" }
      }
    }
  }
  follow_up_delay_seconds = local.local_defaults.follow_up_delay_seconds
  max_follow_ups          = local.local_defaults.max_follow_ups

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
  ledger_deletion_protection              = local.local_defaults.ledger_deletion_protection
}

# The variants below listen on their own buses, so an event meant for one of them does not also
# reach the main pipeline.

resource "aws_cloudwatch_event_bus" "observe" {
  name = "fb-observe"
}

# Records and plans, changes nothing.
module "observe" {
  source = "../.."

  name_prefix              = "fb-observe"
  playbooks                = local.ec2_only
  mode                     = "observe"
  event_bus_name           = aws_cloudwatch_event_bus.observe.name
  dist_dir                 = local.dist_dir
  responder_principal_arns = local.responder_principal_arns

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
  ledger_deletion_protection              = local.local_defaults.ledger_deletion_protection
}

resource "aws_cloudwatch_event_bus" "limited" {
  name = "fb-limited"
}

# Contains at most one resource per window: the second finding must be left alone.
module "limited" {
  source = "../.."

  name_prefix              = "fb-limited"
  playbooks                = local.ec2_only
  mode                     = "contain"
  event_bus_name           = aws_cloudwatch_event_bus.limited.name
  dist_dir                 = local.dist_dir
  responder_principal_arns = local.responder_principal_arns
  blast_radius_limit       = 1

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
  ledger_deletion_protection              = local.local_defaults.ledger_deletion_protection
}

resource "aws_cloudwatch_event_bus" "retry" {
  name = "fb-retry"
}

# Every Auto Scaling call goes to a closed port and fails with a retryable connection error, so
# the tests can show that retries end in the DLQ.
module "retry" {
  source = "../.."

  name_prefix              = "fb-retry"
  playbooks                = local.ec2_only
  mode                     = "contain"
  event_bus_name           = aws_cloudwatch_event_bus.retry.name
  dist_dir                 = local.dist_dir
  responder_principal_arns = local.responder_principal_arns

  # A delivery gets 10 s: the SDK's own retries against the closed port take a second or two, and
  # a loaded two-core machine must not turn them into a timeout (the test then sees no `retrying`).
  max_receive_count          = 2
  visibility_timeout_seconds = 10
  lambda_timeout_seconds     = 10

  extra_environment = {
    AWS_ENDPOINT_URL_AUTO_SCALING = "http://127.0.0.1:9"
  }

  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
  ledger_deletion_protection              = local.local_defaults.ledger_deletion_protection
}

resource "aws_cloudwatch_event_bus" "storm" {
  name = "fb-storm"
}

# A storm of findings (test/e2e/storm.test.ts and concurrency.test.ts, `make bench`'s storm): the
# EC2 playbook with its default options (no forensic instance or copies, no online capture: on a
# two-core machine those would measure the emulator), many containments at once.
module "storm" {
  source = "../.."

  name_prefix              = "fb-storm"
  playbooks                = local.ec2_only
  mode                     = "contain"
  event_bus_name           = aws_cloudwatch_event_bus.storm.name
  dist_dir                 = local.dist_dir
  responder_principal_arns = local.responder_principal_arns
  blast_radius_limit       = 1000

  max_receive_count          = 3
  visibility_timeout_seconds = 30

  follow_up_delay_seconds = local.local_defaults.follow_up_delay_seconds
  max_follow_ups          = local.local_defaults.max_follow_ups

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
  ledger_deletion_protection              = local.local_defaults.ledger_deletion_protection
}

resource "aws_cloudwatch_event_bus" "full" {
  name = "fb-full"
}

# Full mode: once evidence is safe, the instance is stopped for offline investigation. The
# whole-account playbook's credential sweep is enabled here (it runs only in full mode, and only
# when enabled): every IAM user access key deactivated, console passwords replaced, EC2 key pairs
# deleted after recording — except the break-glass users, protected principals. Root-credential
# findings are severity 2: this pipeline acts from severity 1.
module "full" {
  source = "../.."

  name_prefix              = "fb-full"
  mode                     = "full"
  event_bus_name           = aws_cloudwatch_event_bus.full.name
  dist_dir                 = local.dist_dir
  responder_principal_arns = local.responder_principal_arns
  min_severity             = 1
  protected_principals     = ["arn:aws:iam::*:user/e2e-breakglass-*"]

  playbooks = {
    account = {
      options = {
        credential_sweep = { enabled = true }
      }
    }
    # The S3 playbook here also turns on the account's Block Public Access (release restores it).
    s3-bucket = { options = { account_block_public_access = true } }
  }

  follow_up_delay_seconds = local.local_defaults.follow_up_delay_seconds
  max_follow_ups          = local.local_defaults.max_follow_ups

  lambda_timeout_seconds        = local.local_defaults.lambda_timeout_seconds
  event_source_mapping_enabled  = local.local_defaults.event_source_mapping_enabled
  evidence_bucket_force_destroy = local.local_defaults.evidence_bucket_force_destroy

  evidence_bucket_deny_insecure_transport = local.local_defaults.evidence_bucket_deny_insecure_transport
  ledger_deletion_protection              = local.local_defaults.ledger_deletion_protection
}
