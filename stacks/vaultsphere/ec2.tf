# One app host in the default VPC: the app listens on 80, SSH only from the
# operators' range. Deploys reach it over SSH or SSM (gantry deploy). The host
# (role, instance profile, security group, instance) is a local module.

module "app_host" {
  source = "./modules/app_host"

  name          = "${var.name_prefix}-${var.env}-app"
  description   = "VaultSphere app host (${var.env})"
  ami           = var.ami
  instance_type = var.instance_type
  key_name      = var.key_name
  ssh_cidr      = var.ssh_cidr

  runtime_policy = local.app_runtime_policy
  # Pulling images from ECR: the AWS-managed read-only policy.
  managed_policy_arns = ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"]

  # Docker and compose for `gantry deploy`, and nginx in front of the app:
  # gantry starts each release beside the live one (ports 8001 and 8002 in
  # turn), checks it, then rewrites /etc/nginx/gantry/vaultsphere.conf and
  # reloads nginx (docs/deploy.md, "Zero downtime"). The app itself arrives
  # by deploy.
  user_data = <<-EOT
    #!/bin/sh
    set -eu
    if command -v dnf >/dev/null; then
      dnf install -y docker nginx
    else
      apt-get update && apt-get install -y docker.io docker-compose nginx
      rm -f /etc/nginx/sites-enabled/default
    fi
    mkdir -p /etc/nginx/gantry
    # gantry's file, owned by the deploying user; it names the live release.
    printf 'upstream gantry_vaultsphere {\n    server 127.0.0.1:8001;\n}\n' > /etc/nginx/gantry/vaultsphere.conf
    chown -R ec2-user /etc/nginx/gantry 2>/dev/null || true
    cat > /etc/nginx/conf.d/vaultsphere.conf <<'CONF'
    include /etc/nginx/gantry/vaultsphere.conf;
    server {
        listen 80 default_server;
        location / {
            proxy_pass http://gantry_vaultsphere;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
    }
    CONF
    systemctl enable --now docker nginx
  EOT
}

# Environments applied before the host became a module keep their objects:
# these blocks move them to their addresses inside it.
moved {
  from = aws_iam_role.app
  to   = module.app_host.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.app_runtime
  to   = module.app_host.aws_iam_role_policy.runtime
}

moved {
  from = aws_iam_role_policy_attachment.app_ecr_pull
  to   = module.app_host.aws_iam_role_policy_attachment.managed["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"]
}

moved {
  from = aws_iam_instance_profile.app
  to   = module.app_host.aws_iam_instance_profile.this
}

moved {
  from = aws_security_group.app
  to   = module.app_host.aws_security_group.this
}

moved {
  from = aws_instance.app
  to   = module.app_host.aws_instance.this
}
