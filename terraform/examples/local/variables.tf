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

variable "forensic_ami_id" {
  description = "Image of the forensic instances the main pipeline launches (an image moto knows)."
  type        = string
  default     = "ami-12c6146b"
}
