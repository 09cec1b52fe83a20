# What Terraform has no word for. Environments keep local state until
# `gantry bootstrap` adds an s3 backend here.

# How `gantry deploy` releases the app (docs/deploy.md). Hosts, image
# repository and SSM path come from the environment's state outputs, so one
# block serves every environment.
deploy {
  service         = "vaultsphere"
  ssm_path_output = "ssm_path"       # /vaultsphere/<env>
  image_output    = "repository_url" # the ECR repository
  hosts_output    = "public_ip"
  compose_file    = "deploy/docker-compose.yml"
  transport       = "ssh"

  ssh {
    user        = "ec2-user"
    known_hosts = "deploy/known_hosts"
  }

  # Zero downtime: nginx (installed by the host's user data) sends port 80
  # to the live release; each release listens on the other of these ports
  # (PORT in its environment), is checked there, and only then takes
  # traffic. See docs/deploy.md.
  proxy {
    upstream_file = "/etc/nginx/gantry/vaultsphere.conf"
    reload        = "sudo nginx -t -q && sudo nginx -s reload"
    ports         = [8001, 8002]
    drain         = "5s"
  }

  # Fetched on the host, on the new release's own port while the old one
  # serves (with a proxy, only the URL's path counts).
  health {
    url      = "http://127.0.0.1/health"
    attempts = 20
    interval = "5s"
    timeout  = "3s"
  }

  build {
    context = "../.." # the app's repository, when the stack lives in it
  }
}

# Local: this machine plays the host (scripts/demo.sh), images go to a local
# registry instead of ECR's host, and a stand-in app answers on
# 127.0.0.1:$PORT.
environment "local" {
  deploy {
    transport    = "local"
    registry     = "127.0.0.1:5000"
    compose_file = "deploy/docker-compose.local.yml"

    # The demo machine has no nginx: releases replace each other in place.
    proxy {
      enabled = false
    }

    health {
      url      = "http://127.0.0.1:5001/health"
      attempts = 10
      interval = "500ms"
      timeout  = "2s"
    }

    build {
      context = "deploy/demo-app"
    }

    frontend {
      folder        = "deploy/demo-frontend"
      bucket_output = "frontend_bucket"
    }
  }
}

# What the app reads at start-up. `gantry exec` (and deploys) check the SSM
# parameters against this before anything runs.
contract {
  key "PORT" {
    type = "port"
  }

  key "APP_ENV" {
    type   = "enum"
    values = ["dev", "local", "staging", "prod"]
  }

  key "SESSION_SECRET" {
    secret     = true
    min_length = 32
  }

  key "DYNAMODB_USERS_TABLE" {}
  key "DYNAMODB_ACCOUNTS_TABLE" {}
  key "DYNAMODB_PASSWORDS_TABLE" {}

  key "FEATURE_*" {
    type     = "bool"
    required = false
  }
}
