region = "us-east-1"
env    = "staging"
