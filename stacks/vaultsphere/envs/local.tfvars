# Local development against the moto emulator (scripts/moto.sh).
region            = "us-east-1"
env               = "local"
github_repository = "acme/vaultsphere"
ssh_cidr          = "127.0.0.1/32"
# An image moto knows; on AWS this would be an Amazon Linux 2023 AMI.
ami = "ami-12c6146b"
