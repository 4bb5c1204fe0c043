variable "endpoint" {
  description = "URL of the AWS emulator (moto_server) every service is sent to."
  type        = string
  default     = "http://127.0.0.1:4566"
}

variable "dist_dir" {
  description = "Directory holding the built playbooks (`npm run build` writes `dist/` at the repository root). Relative paths are taken from this directory."
  type        = string
  default     = "../../../dist"
}
