provider "aws" {
  region = var.region

  # Every resource of the stack carries these, on top of its own tags.
  default_tags {
    tags = {
      app         = "vaultsphere"
      environment = var.env
    }
  }
}
