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

output "instance_id" {
  description = "The app host."
  value       = module.app_host.instance_id
}

output "public_ip" {
  description = "Public address of the app host."
  value       = module.app_host.public_ip
}

output "public_dns" {
  description = "Public DNS name of the app host."
  value       = module.app_host.public_dns
}

output "ci_deploy_role_arn" {
  description = "Put this in the deploy workflow's role-to-assume."
  value       = aws_iam_role.ci_deploy.arn
}

output "app_role_arn" {
  description = "The app host's role."
  value       = module.app_host.role_arn
}
