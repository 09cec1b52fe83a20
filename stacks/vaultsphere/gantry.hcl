# What Terraform has no word for. Environments keep local state until
# `gantry bootstrap` adds an s3 backend here.

# The app's environment is the SSM path the stack outputs (/vaultsphere/<env>).
deploy {
  ssm_path_output = "ssm_path"
}

# What the app reads at start-up. `gantry exec` (and deploys) check the SSM
# parameters against this before anything runs.
contract {
  key "PORT" {
    type = "port"
  }

  key "APP_ENV" {
    type   = "enum"
    values = ["dev", "local", "staging", "prod"]
  }

  key "SESSION_SECRET" {
    secret     = true
    min_length = 32
  }

  key "DYNAMODB_USERS_TABLE" {}
  key "DYNAMODB_ACCOUNTS_TABLE" {}
  key "DYNAMODB_PASSWORDS_TABLE" {}

  key "FEATURE_*" {
    type     = "bool"
    required = false
  }
}
