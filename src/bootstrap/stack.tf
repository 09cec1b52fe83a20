# Written by `gantry bootstrap`: what a new environment needs before its own
# stack can run from CI. It has its own state (local, state/<this folder>/),
# so it can be inspected and destroyed deliberately:
#   gantry plan    -s <this folder> -e <env>
#   gantry destroy -s <this folder> -e <env>
# Edit freely: bootstrap never overwrites this file.

variable "region" {
  type = string
}

variable "stack" {
  type        = string
  description = "The app stack this environment belongs to."
}

variable "env" {
  type = string
}

variable "state_bucket" {
  type = string
}

variable "lock_table" {
  type = string
}

variable "github_repository" {
  type        = string
  description = "ORG/REPO whose workflows may assume the roles."
}

variable "apply_subject" {
  type        = string
  description = "The OIDC subject of the workflow job that applies and deploys."
}

variable "plan_subject" {
  type        = string
  description = "The OIDC subject of the pull-request workflow that plans."
}

# What one account shares between environments (the state bucket and lock
# table) and between stacks (the GitHub OIDC provider) is managed by one
# bootstrap stack; the others refer to it and never change or delete it.
# `gantry bootstrap` sets these in envs/<env>.tfvars: false when the object
# already exists and another stack or environment owns it.
variable "manage_state_bucket" {
  type    = bool
  default = true
}

variable "manage_lock_table" {
  type    = bool
  default = true
}

variable "manage_github_oidc_provider" {
  type    = bool
  default = true
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      "managed-by" = "gantry-bootstrap"
    }
  }
}

data "aws_caller_identity" "current" {}

# State: versioned (every write keeps the previous version), encrypted,
# never public.
resource "aws_s3_bucket" "state" {
  count  = var.manage_state_bucket ? 1 : 0
  bucket = var.state_bucket

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "state" {
  count  = var.manage_state_bucket ? 1 : 0
  bucket = aws_s3_bucket.state[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  count  = var.manage_state_bucket ? 1 : 0
  bucket = aws_s3_bucket.state[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  count                   = var.manage_state_bucket ? 1 : 0
  bucket                  = aws_s3_bucket.state[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Every environment's locks: destroying this stack must not take them.
resource "aws_dynamodb_table" "locks" {
  count        = var.manage_lock_table ? 1 : 0
  name         = var.lock_table
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"

  attribute {
    name = "LockID"
    type = "S"
  }

  lifecycle {
    prevent_destroy = true
  }
}

# One per account. An existing one that no gantry stack owns is adopted
# (imported); one another stack owns is referred to by its ARN. Planning
# its deletion fails while roles outside this stack still trust it.
resource "aws_iam_openid_connect_provider" "github" {
  count          = var.manage_github_oidc_provider ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

locals {
  account = data.aws_caller_identity.current.account_id
  github_oidc_provider_arn = (var.manage_github_oidc_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : "arn:aws:iam::${local.account}:oidc-provider/token.actions.githubusercontent.com"
  )
}

# Applies and deploys from the protected environment's job.
resource "aws_iam_role" "apply" {
  name                 = "gantry-${var.stack}-${var.env}-apply"
  description          = "gantry apply and deploy of ${var.stack}/${var.env} from ${var.github_repository}"
  assume_role_policy   = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.github_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
          "token.actions.githubusercontent.com:sub" = var.apply_subject
        }
      }
    }]
  })
  max_session_duration = 3600
}

# Everything but IAM, which the inline policy below grants for this stack's
# own roles and instance profiles only.
resource "aws_iam_role_policy_attachment" "apply_power_user" {
  role       = aws_iam_role.apply.name
  policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"
}

resource "aws_iam_role_policy" "apply_iam" {
  name = "stack-iam"
  role = aws_iam_role.apply.name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Action = ["iam:*"]
        Resource = [
          "arn:aws:iam::${local.account}:role/${var.stack}-*",
          "arn:aws:iam::${local.account}:instance-profile/${var.stack}-*",
        ]
      },
      {
        Effect   = "Allow"
        Action   = ["iam:Get*", "iam:List*", "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider"]
        Resource = "*"
      },
    ]
  })
}

# Plans pull requests: reads everything, changes nothing.
resource "aws_iam_role" "plan" {
  name                 = "gantry-${var.stack}-${var.env}-plan"
  description          = "gantry plan of ${var.stack}/${var.env} for pull requests of ${var.github_repository}"
  assume_role_policy   = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.github_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
          "token.actions.githubusercontent.com:sub" = var.plan_subject
        }
      }
    }]
  })
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy" "plan_state" {
  name = "read-state"
  role = aws_iam_role.plan.name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "arn:aws:s3:::${var.state_bucket}/${var.stack}/*"
      },
      {
        # Refresh reads SecureString parameters to detect drift by hash, and
        # the state's hash key (SSM /gantry/state-keys/<lineage>).
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "kms:ViaService" = "ssm.${var.region}.amazonaws.com" } }
      },
    ]
  })
}

output "state_bucket" {
  value = var.state_bucket
}

output "lock_table" {
  value = var.lock_table
}

output "apply_role_arn" {
  value = aws_iam_role.apply.arn
}

output "plan_role_arn" {
  value = aws_iam_role.plan.arn
}

output "oidc_provider_arn" {
  value = local.github_oidc_provider_arn
}
