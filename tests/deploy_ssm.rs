//! `gantry deploy` over the `ssm` transport, against the emulator alone: moto
//! records SendCommand and reports success without running anything, so what
//! is checked is what was sent (AWS-RunShellScript to the stack's instance,
//! and no secret in the command, which SSM keeps in its command history) and
//! that the polling ends in a healthy release.
//!
//! The test has a moto server of its own: moto's SendCommand without
//! `Targets` also addresses every other instance in the region (its target
//! filter is empty, so it matches all), and instances of tests running
//! alongside would show up in the command's instance list.

use crate::support::{block_on, Aws, Gantry, Moto};

/// The session secret. SendCommand parameters must never hold it: the host
/// reads its parameters itself.
const CANARY: &str = "ssm-transport-canary-session-secret-0123456789";

const STACK_TF: &str = r#"variable "prefix" {
  type = string
}

resource "aws_instance" "app" {
  ami           = "ami-12c6146b"
  instance_type = "t3.micro"
}

resource "aws_ecr_repository" "app" {
  name         = "${var.prefix}-app"
  force_delete = true
}

output "instance_id" {
  value = aws_instance.app.id
}

output "repository_url" {
  value = aws_ecr_repository.app.repository_url
}
"#;

/// A schema-2 manifest for an image that exists only in ECR's records.
const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;

struct Stack {
    ssm_path: String,
    instance: String,
}

fn setup(g: &Gantry, aws: &Aws) -> Stack {
    let ssm_path = format!("/{}/test", g.prefix());
    let ssm = &aws.ssm;
    for (key, value, kind) in [("SESSION_SECRET", CANARY, "SecureString"), ("APP_ENV", "staging", "String")] {
        block_on(
            ssm.put_parameter()
                .name(format!("{ssm_path}/{key}"))
                .value(value)
                .r#type(kind.into())
                .overwrite(true)
                .send(),
        )
        .unwrap();
    }
    g.write("s/main.tf", STACK_TF);
    g.write(
        "s/compose.yml",
        "services:\n  app:\n    image: ${IMAGE_REPOSITORY}:${IMAGE_TAG}\n    env_file: ${GANTRY_ENV_FILE}\n",
    );
    g.write(
        "s/gantry.hcl",
        format!(
            r#"deploy {{
  service      = "{service}"
  ssm_path     = "{ssm_path}"
  image_output = "repository_url"
  hosts_output = "instance_id"
  compose_file = "compose.yml"
  transport    = "ssm"

  health {{
    url      = "http://127.0.0.1:5001/health"
    attempts = 2
    interval = "1s"
    timeout  = "1s"
  }}
}}

contract {{
  key "SESSION_SECRET" {{
    secret     = true
    min_length = 32
  }}
  key "APP_ENV" {{
    type   = "enum"
    values = ["staging", "prod"]
  }}
}}
"#,
            service = g.prefix()
        ),
    );
    g.cmd(["apply", "--auto-approve", "-s", "s", "-e", "test", "-var", &g.prefix_var()]).assert().success();
    let out = g.cmd(["output", "-s", "s", "-e", "test", "instance_id"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let instance = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(instance.starts_with("i-"), "instance id: {instance:?}");
    block_on(
        aws.ecr
            .put_image()
            .repository_name(format!("{}-app", g.prefix()))
            .image_tag("v1")
            .image_manifest(MANIFEST)
            .send(),
    )
    .unwrap();
    Stack { ssm_path, instance }
}

/// What ListCommands holds for one instance: (document, comment, commands
/// text, parameter names).
fn commands_for(aws: &Aws, instance: &str) -> Vec<(String, String, String, Vec<String>)> {
    let out = block_on(aws.ssm.list_commands().instance_id(instance).send()).unwrap();
    out.commands()
        .iter()
        .map(|c| {
            assert_eq!(c.instance_ids(), [instance.to_string()], "one instance per command");
            let params = c.parameters().cloned().unwrap_or_default();
            let text = params.get("commands").map(|v| v.join("\n")).unwrap_or_default();
            let mut names: Vec<String> = params.keys().cloned().collect();
            names.sort();
            (
                c.document_name().unwrap_or_default().to_string(),
                c.comment().unwrap_or_default().to_string(),
                text,
                names,
            )
        })
        .collect()
}

#[test]
fn ssm_deploy_sends_run_shell_script_without_secrets() {
    let moto = Moto::start();
    let aws = Aws::for_moto(&moto);
    let g = Gantry::with_moto(&moto);
    let stack = setup(&g, &aws);
    assert!(commands_for(&aws, &stack.instance).is_empty(), "no command before the deploy");

    // A tag ECR does not hold stops the deploy before any command is sent.
    // (One test, not two: moto mixes up the instance lists of concurrent
    // SendCommands.)
    let out = g.cmd(["deploy", "-s", "s", "-e", "test", "--tag", "v2"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(":v2 does not exist") && err.contains("no host was touched"), "{err}");
    assert!(commands_for(&aws, &stack.instance).is_empty(), "no command was sent for a missing tag");

    let out = g.cmd(["deploy", "-s", "s", "-e", "test", "--tag", "v1"]).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "deploy failed:\n{stdout}\n{stderr}");
    assert!(!stdout.contains(CANARY) && !stderr.contains(CANARY), "the secret was printed");

    let commands = commands_for(&aws, &stack.instance);
    assert!(!commands.is_empty(), "the deploy sent no command to {}", stack.instance);
    for (document, comment, text, params) in &commands {
        assert_eq!(document, "AWS-RunShellScript");
        assert_eq!(comment, "gantry deploy");
        assert!(params.contains(&"executionTimeout".to_string()), "{params:?}");
        assert!(!text.contains(CANARY), "a SendCommand parameter holds the secret ({} bytes of commands)", text.len());
    }
    // The release script makes the host read its own parameters and log in
    // to ECR by itself.
    let all: String = commands.iter().map(|c| c.2.as_str()).collect::<Vec<_>>().join("\n---\n");
    assert!(all.contains("get-parameters-by-path") && all.contains(&stack.ssm_path), "{all}");
    assert!(all.contains("get-login-password"), "{all}");
    assert!(all.contains("v1"), "the tag is in the release script:\n{all}");
    // Nor does the registry password travel: it is what ECR gives anyone
    // who asks, so the host asks.
    let token = block_on(aws.ecr.get_authorization_token().send()).unwrap();
    let token = token.authorization_data()[0].authorization_token().unwrap().to_string();
    assert!(!all.contains(&token), "the ECR token was sent");

    // The polling saw the command end: the release is recorded as healthy.
    let out = g.cmd(["releases", "-s", "s", "-e", "test", "--json"]).output().unwrap();
    let releases: serde_json::Value = serde_json::from_slice(&out.stdout).expect("releases --json");
    let newest = &releases["releases"][0];
    assert_eq!(newest["tag"], "v1", "{releases}");
    assert_eq!(newest["result"], "healthy", "{releases}");
}
