terraform {
  # gantry reads the same files; Terraform checks this, gantry ignores it.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
