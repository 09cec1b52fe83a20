region            = "us-east-1"
env               = "staging"
github_repository = "acme/vaultsphere"
deploy_branch     = "main"
ssh_cidr          = "203.0.113.0/24"
ami               = "ami-0c02fb55956c7d316"
instance_type     = "t3.small"
# `gantry bootstrap` manages the account's GitHub OIDC provider.
manage_github_oidc_provider = false
