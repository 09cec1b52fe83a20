variable "region" {
  type        = string
  description = "AWS region the environment lives in."
}

variable "env" {
  type        = string
  description = "Environment name; part of every resource name and SSM path."

  validation {
    condition     = contains(["dev", "local", "staging", "prod"], var.env)
    error_message = "The env must be one of: dev, local, staging, prod."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name and of the SSM path."
  default     = "vaultsphere"

  # S3 bucket and ECR repository names must be lowercase.
  validation {
    condition     = lower(var.name_prefix) == var.name_prefix
    error_message = "The name_prefix must be lowercase."
  }

  # The frontend bucket name adds "-<env>-frontend-<12-digit account id>" to
  # the prefix and S3 allows 63 characters in all.
  validation {
    condition     = length(var.name_prefix) <= 30
    error_message = "The name_prefix must be at most 30 characters long."
  }
}

variable "session_secret" {
  type        = string
  description = "Key the app signs its session cookies with. Give it through TF_VAR_session_secret; it never belongs in a .tfvars file."
  sensitive   = true

  validation {
    condition     = length(var.session_secret) >= 32
    error_message = "The session_secret must be at least 32 characters long."
  }
}
