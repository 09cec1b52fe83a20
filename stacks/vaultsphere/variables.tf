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

variable "github_repository" {
  type        = string
  description = "The GitHub repository (ORG/REPO) whose workflows deploy this environment through OIDC."

  validation {
    condition     = length(regexall("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository)) == 1
    error_message = "The github_repository must be ORG/REPO, with no wildcard."
  }
}

variable "manage_github_oidc_provider" {
  type        = bool
  description = "Create the account's GitHub OIDC provider in this stack. Set false where `gantry bootstrap` manages it: there is one per account."
  default     = true
}

variable "deploy_branch" {
  type        = string
  description = "The branch whose workflow runs may apply and deploy."
  default     = "main"
}

variable "ssh_cidr" {
  type        = string
  description = "Who may reach SSH on the host (an office or VPN range). Port 80 is open to everyone."

  validation {
    condition     = length(regexall("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+/[0-9]+$", var.ssh_cidr)) == 1
    error_message = "The ssh_cidr must be a CIDR block such as 203.0.113.0/24."
  }

  validation {
    condition     = var.ssh_cidr != "0.0.0.0/0"
    error_message = "SSH must not be open to the whole internet; name your office or VPN range."
  }
}

variable "ami" {
  type        = string
  description = "The AMI of the app host (Amazon Linux 2023 or Debian with Docker)."
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the app host."
  default     = "t3.small"
}

variable "key_name" {
  type        = string
  description = "EC2 key pair for SSH deploys; null when deploys go through SSM."
  default     = null
}
