# Local development against the moto emulator (scripts/moto.sh).
region = "us-east-1"
env    = "local"
