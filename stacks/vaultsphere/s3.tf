# Static frontend assets. Bucket names are global across all AWS accounts, so
# the account id makes the name unique.
resource "aws_s3_bucket" "frontend" {
  bucket = "${var.name_prefix}-${var.env}-frontend-${data.aws_caller_identity.current.account_id}"

  # Outside prod, destroying the environment also empties the bucket.
  force_destroy = var.env != "prod"
}

# Keeps every previous build's files, so a bad frontend deploy can be undone.
resource "aws_s3_bucket_versioning" "frontend" {
  bucket = aws_s3_bucket.frontend.id

  versioning_configuration {
    status = "Enabled"
  }
}

# The bucket is read through a CDN or the app, never directly by the public.
resource "aws_s3_bucket_public_access_block" "frontend" {
  bucket = aws_s3_bucket.frontend.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
