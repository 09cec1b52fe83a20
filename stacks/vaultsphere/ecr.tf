resource "aws_ecr_repository" "app" {
  name = "${var.name_prefix}-${var.env}"

  # Tags stay mutable because `latest` is moved on every build. Deploys and
  # rollbacks never use `latest`: they name images by their git commit tag.
  image_tag_mutability = "MUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  # Outside prod, destroying the environment also deletes its images.
  force_delete = var.env != "prod"
}
