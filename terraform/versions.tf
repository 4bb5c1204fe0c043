terraform {
  # 1.9 is the first release whose `validation {}` blocks may refer to locals and other variables
  # (the known-playbook list, visibility timeout >= function timeout, batch size vs batching window).
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100: the release this module is tested with. Below 7: a major release may remove
      # or rename arguments (6.0 did), so it is adopted deliberately. No lock file is committed:
      # the root module that calls this one owns it (docs/decisions.md).
      version = ">= 5.100, < 7"
    }
  }
}
