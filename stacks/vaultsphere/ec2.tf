# One app host in the default VPC: the app listens on 80, SSH only from the
# operators' range. Deploys reach it over SSH or SSM (gantry deploy).

resource "aws_security_group" "app" {
  name        = "${var.name_prefix}-${var.env}-app"
  description = "VaultSphere app host (${var.env})"

  ingress {
    description = "HTTP from anywhere"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  ingress {
    description = "SSH from the operators"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = [var.ssh_cidr]
  }

  egress {
    description = "Pulling images, reaching AWS APIs"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "app" {
  ami                    = var.ami
  instance_type          = var.instance_type
  key_name               = var.key_name
  vpc_security_group_ids = [aws_security_group.app.id]
  iam_instance_profile   = aws_iam_instance_profile.app.name

  # Docker and compose for `gantry deploy`; the app itself arrives by deploy.
  user_data = <<-EOT
    #!/bin/sh
    set -eu
    if command -v dnf >/dev/null; then dnf install -y docker; else apt-get update && apt-get install -y docker.io docker-compose; fi
    systemctl enable --now docker
  EOT

  tags = {
    Name = "${var.name_prefix}-${var.env}-app"
  }
}
