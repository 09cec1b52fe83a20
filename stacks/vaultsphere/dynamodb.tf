# On-demand tables: a password manager's traffic is small and bursty, and
# on-demand needs no capacity planning per environment.

resource "aws_dynamodb_table" "users" {
  name         = "${var.name_prefix}-${var.env}-users"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "user_id"

  attribute {
    name = "user_id"
    type = "S"
  }

  attribute {
    name = "username"
    type = "S"
  }

  # Login looks users up by name, not by id.
  global_secondary_index {
    name            = "username-index"
    hash_key        = "username"
    projection_type = "ALL"
  }

  # No TTL: sessions live in signed cookies, not in this table, and a user
  # record must never expire on its own.
}

# The sites a user keeps credentials for (name, URL, login), one item per site.
resource "aws_dynamodb_table" "accounts" {
  name         = "${var.name_prefix}-${var.env}-accounts"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "user_id"
  range_key    = "account_id"

  attribute {
    name = "user_id"
    type = "S"
  }

  attribute {
    name = "account_id"
    type = "S"
  }
}

# The encrypted secrets themselves. Listed per user; the index finds the
# password history of one account.
resource "aws_dynamodb_table" "passwords" {
  name         = "${var.name_prefix}-${var.env}-passwords"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "user_id"
  range_key    = "password_id"

  attribute {
    name = "user_id"
    type = "S"
  }

  attribute {
    name = "password_id"
    type = "S"
  }

  attribute {
    name = "account_id"
    type = "S"
  }

  global_secondary_index {
    name            = "account-index"
    hash_key        = "account_id"
    range_key       = "password_id"
    projection_type = "KEYS_ONLY"
  }

  # Losing this table means losing every user's vault: keep 35 days of
  # restorable history.
  point_in_time_recovery {
    enabled = true
  }
}
