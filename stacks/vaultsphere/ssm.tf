# The app's runtime configuration, read at deploy time from one SSM path per
# environment: /<name_prefix>/<env>/<KEY>, where KEY is the variable name the
# app expects in its environment.

locals {
  ssm_path = "/${var.name_prefix}/${var.env}"

  # Plain settings. The table names come from the tables themselves, so these
  # parameters are written only once the tables exist.
  app_config = {
    PORT                     = "5001" # gunicorn's port; through the proxy each release gets 8001 or 8002 instead
    APP_ENV                  = var.env
    DYNAMODB_USERS_TABLE     = aws_dynamodb_table.users.name
    DYNAMODB_ACCOUNTS_TABLE  = aws_dynamodb_table.accounts.name
    DYNAMODB_PASSWORDS_TABLE = aws_dynamodb_table.passwords.name
  }
}

resource "aws_ssm_parameter" "config" {
  for_each = local.app_config

  name        = "${local.ssm_path}/${each.key}"
  description = "VaultSphere ${each.key} (${var.env})"
  type        = "String"
  # Nothing secret here: `insecure_value` keeps it readable in plans.
  insecure_value = each.value
}

resource "aws_ssm_parameter" "session_secret" {
  name        = "${local.ssm_path}/SESSION_SECRET"
  description = "VaultSphere session signing key (${var.env})"
  type        = "SecureString"
  value       = var.session_secret
}
