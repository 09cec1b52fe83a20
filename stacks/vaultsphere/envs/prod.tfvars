region = "us-east-1"
env    = "prod"
