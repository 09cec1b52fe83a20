# Who may do what. GitHub Actions deploys through OIDC, so no AWS keys are
# stored anywhere; the app host reads only its own configuration and tables.

# An account has one GitHub OIDC provider. Where `gantry bootstrap` manages
# it (staging, prod), this stack only refers to it by its ARN.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.manage_github_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

locals {
  github_oidc_provider_arn = (var.manage_github_oidc_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : "arn:aws:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/token.actions.githubusercontent.com"
  )
}

# The role the deploy workflow on the deploy branch assumes: push images to
# this environment's repository. `gantry validate` refuses a trust policy
# without aud, without sub, or with a wildcard repository.
resource "aws_iam_role" "ci_deploy" {
  name        = "${var.name_prefix}-${var.env}-ci-deploy"
  description = "GitHub Actions deploys of ${var.github_repository} (${var.deploy_branch})"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = local.github_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
          "token.actions.githubusercontent.com:sub" = "repo:${var.github_repository}:ref:refs/heads/${var.deploy_branch}"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "ci_push" {
  name = "push-images"
  role = aws_iam_role.ci_deploy.name

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # GetAuthorizationToken cannot be scoped to a repository.
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*"
      },
      {
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:CompleteLayerUpload",
          "ecr:DescribeImages",
          "ecr:InitiateLayerUpload",
          "ecr:PutImage",
          "ecr:UploadLayerPart",
        ]
        Resource = aws_ecr_repository.app.arn
      },
    ]
  })
}

# What the app may do at run time: its own SSM path and its three tables.
# The host's role, which carries it, is in the app_host module (ec2.tf).
locals {
  app_runtime_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
        Resource = "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${local.ssm_path}/*"
      },
      {
        Effect = "Allow"
        Action = [
          "dynamodb:BatchGetItem",
          "dynamodb:BatchWriteItem",
          "dynamodb:DeleteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Query",
          "dynamodb:UpdateItem",
        ]
        Resource = flatten([
          for table in [aws_dynamodb_table.users, aws_dynamodb_table.accounts, aws_dynamodb_table.passwords] :
          [table.arn, "${table.arn}/index/*"]
        ])
      },
    ]
  })
}
