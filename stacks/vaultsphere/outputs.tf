output "repository_url" {
  description = "Where deploys push and pull the app image."
  value       = aws_ecr_repository.app.repository_url
}

output "frontend_bucket" {
  description = "Bucket holding the static frontend."
  value       = aws_s3_bucket.frontend.bucket
}

output "table_names" {
  description = "DynamoDB table names, by role."
  value = {
    users     = aws_dynamodb_table.users.name
    accounts  = aws_dynamodb_table.accounts.name
    passwords = aws_dynamodb_table.passwords.name
  }
}

output "ssm_path" {
  description = "SSM path holding the app's environment (one parameter per variable)."
  value       = local.ssm_path
}

output "region" {
  description = "Region the environment was created in."
  value       = data.aws_region.current.name
}
