terraform {
  # 1.9 is the first release whose `validation {}` blocks may refer to locals and other variables
  # (the known-playbook list, visibility timeout >= function timeout, batch size vs batching window).
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}
