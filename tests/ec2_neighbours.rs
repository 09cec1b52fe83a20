//! Resource types that stacks put next to security groups and instances:
//! security group rules (the legacy and the one-rule-per-resource kinds),
//! Elastic IPs and their associations, key pairs. Each: apply creates it and
//! the emulator holds it, a second plan has no changes, a change made by
//! hand shows as drift, a config change updates or replaces it as the
//! provider does, destroy removes it, import adopts one, and a create cut
//! short is adopted by the next run.

use std::path::{Path, PathBuf};

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, SecurityGroupRule};
use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

/// An ed25519 public key (its private half was thrown away).
const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGQ0UhwlSz8BFB1bPrhGxU7cuKC2D36mmq2kN4pIJq9Y gantry-test";

fn stack(g: &Gantry, text: &str) -> PathBuf {
    let file = g.write("neighbours/main.tf", text);
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]);
    cmd
}

fn edit(stack: &Path, from: &str, to: &str) {
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    assert!(text.contains(from), "{from} is not in the stack");
    std::fs::write(&main, text.replacen(from, to, 1)).unwrap();
}

/// What state records for an address.
fn state_entry(g: &Gantry, address: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(g.state_dir().join("neighbours/test.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    state["resources"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["address"] == address).cloned())
        .unwrap_or_default()
}

/// Moves a resource from state into the journal of interrupted creates, as
/// if the run that created it had been killed before saving.
fn forget_as_interrupted(g: &Gantry, address: &str) {
    forget_as_interrupted_with_id(g, address, None);
}

/// The same, for a type whose id is known before the create: the journal
/// holds that id.
fn forget_as_interrupted_with_id(g: &Gantry, address: &str, id: Option<&str>) {
    let path = g.state_dir().join("neighbours/test.json");
    let mut state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let resources = state["resources"].as_array_mut().unwrap();
    let at = resources.iter().position(|r| r["address"] == address).expect("in state");
    let entry = resources.remove(at);
    // A real interrupted create journals the operation id it tagged the
    // object with: read it back from the object.
    let operation = operation_tag(entry["id"].as_str().unwrap_or_default());
    state["pending"] = serde_json::json!([{
        "address": address,
        "type": entry["type"],
        "id": id,
        "operation_id": operation,
        "started_at": "2026-12-01T00:00:00Z",
    }]);
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
}

/// The `gantry:operation` tag of an EC2 object or a log group.
fn operation_tag(id: &str) -> String {
    let filter = Filter::builder().name("resource-id").values(id).build();
    let ec2 = block_on(aws().ec2.describe_tags().filters(filter).send()).ok();
    let from_ec2 = ec2.and_then(|out| {
        out.tags().iter().find(|t| t.key() == Some("gantry:operation")).and_then(|t| t.value().map(str::to_string))
    });
    from_ec2
        .or_else(|| {
            #[allow(deprecated)]
            let out = block_on(aws().logs.list_tags_log_group().log_group_name(id).send()).ok()?;
            out.tags().and_then(|t| t.get("gantry:operation").cloned())
        })
        .unwrap_or_else(|| "interrupted".to_string())
}

fn group_rules(group: &str) -> Vec<SecurityGroupRule> {
    let filter = Filter::builder().name("group-id").values(group).build();
    let out = block_on(aws().ec2.describe_security_group_rules().filters(filter).send()).unwrap();
    out.security_group_rules().to_vec()
}

fn has_cidr(rules: &[SecurityGroupRule], egress: bool, port: i32, cidr: &str) -> bool {
    rules.iter().any(|r| r.is_egress() == Some(egress) && r.from_port() == Some(port) && r.cidr_ipv4() == Some(cidr))
}

const RULES: &str = r#"
variable "prefix" {
  type = string
}

resource "aws_security_group" "app" {
  name = "${var.prefix}-app"
}

resource "aws_security_group_rule" "https" {
  type              = "ingress"
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = ["10.0.0.0/8", "10.1.0.0/16"]
  description       = "https"
  security_group_id = aws_security_group.app.id
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  security_group_id = aws_security_group.app.id
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "10.2.0.0/16"
  tags = {
    purpose = "ssh"
  }
}

resource "aws_vpc_security_group_egress_rule" "db" {
  security_group_id = aws_security_group.app.id
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "10.3.0.0/16"
}
"#;

#[test]
fn security_group_rules_lifecycle() {
    let g = Gantry::new();
    let dir = stack(&g, RULES);
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Resources: 4 added"));
    let group = state_entry(&g, "aws_security_group.app")["id"].as_str().unwrap().to_string();
    let rules = group_rules(&group);
    assert!(has_cidr(&rules, false, 443, "10.0.0.0/8") && has_cidr(&rules, false, 443, "10.1.0.0/16"), "{rules:?}");
    assert!(has_cidr(&rules, false, 22, "10.2.0.0/16") && has_cidr(&rules, true, 5432, "10.3.0.0/16"), "{rules:?}");
    // The provider's ids: sgrule-N for the legacy type, EC2's rule id for the new ones.
    let legacy = state_entry(&g, "aws_security_group_rule.https");
    assert!(legacy["id"].as_str().unwrap().starts_with("sgrule-"), "{legacy}");
    assert_eq!(legacy["attributes"]["security_group_rule_id"], serde_json::Value::Null, "two rules, no single id");
    let ssh = state_entry(&g, "aws_vpc_security_group_ingress_rule.ssh");
    let ssh_id = ssh["id"].as_str().unwrap().to_string();
    assert!(ssh_id.starts_with("sgr-"), "{ssh}");
    let ssh_rule = rules.iter().find(|r| r.security_group_rule_id() == Some(&ssh_id)).expect("the ssh rule");
    let tag = |k: &str| ssh_rule.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
    assert_eq!(tag("purpose").as_deref(), Some("ssh"));
    assert_eq!(tag("gantry:address").as_deref(), Some("aws_vpc_security_group_ingress_rule.ssh"));

    // No changes, and the rules are not drift of the group that holds them.
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No changes."))
        .stdout(predicate::str::contains("changed outside").not());

    // Drift: a description and a CIDR changed by hand.
    let perm = |cidr: &str, description: &str| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(IpRange::builder().cidr_ip(cidr).description(description).build())
            .build()
    };
    block_on(
        aws()
            .ec2
            .update_security_group_rule_descriptions_ingress()
            .group_id(&group)
            .ip_permissions(perm("10.0.0.0/8", "by hand"))
            .ip_permissions(perm("10.1.0.0/16", "by hand"))
            .send(),
    )
    .unwrap();
    let by_hand = aws_sdk_ec2::types::SecurityGroupRuleRequest::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ipv4("10.9.0.0/16")
        .build();
    let update = aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
        .security_group_rule_id(&ssh_id)
        .security_group_rule(by_hand)
        .build();
    block_on(aws().ec2.modify_security_group_rules().group_id(&group).security_group_rules(update).send()).unwrap();
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Objects have changed outside of gantry"))
        .stdout(predicate::str::contains("\"by hand\""))
        .stdout(predicate::str::contains("\"10.9.0.0/16\""))
        .stdout(predicate::str::contains("aws_security_group_rule.https will be updated in-place"))
        .stdout(predicate::str::contains("aws_vpc_security_group_ingress_rule.ssh will be updated in-place"));
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    let rules = group_rules(&group);
    assert!(has_cidr(&rules, false, 22, "10.2.0.0/16") && !has_cidr(&rules, false, 22, "10.9.0.0/16"), "{rules:?}");
    assert!(rules.iter().filter(|r| r.from_port() == Some(443)).all(|r| r.description() == Some("https")), "{rules:?}");
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);

    // Config changes: the legacy rule's ports replace it, the new rule's
    // CIDR changes in place (same rule id).
    edit(
        &dir,
        "from_port         = 443\n  to_port           = 443",
        "from_port         = 8443\n  to_port           = 8443",
    );
    edit(&dir, "cidr_ipv4         = \"10.2.0.0/16\"", "cidr_ipv4         = \"10.4.0.0/16\"");
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_security_group_rule.https must be replaced"))
        .stdout(predicate::str::contains("aws_vpc_security_group_ingress_rule.ssh will be updated in-place"));
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    let rules = group_rules(&group);
    assert!(!has_cidr(&rules, false, 443, "10.0.0.0/8") && has_cidr(&rules, false, 8443, "10.0.0.0/8"), "{rules:?}");
    assert!(has_cidr(&rules, false, 22, "10.4.0.0/16"), "{rules:?}");
    assert_eq!(state_entry(&g, "aws_vpc_security_group_ingress_rule.ssh")["id"], ssh_id.as_str());

    // A rule revoked by hand is gone: the plan creates it again.
    let egress_id = state_entry(&g, "aws_vpc_security_group_egress_rule.db")["id"].as_str().unwrap().to_string();
    block_on(aws().ec2.revoke_security_group_egress().group_id(&group).security_group_rule_ids(&egress_id).send())
        .unwrap();
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_vpc_security_group_egress_rule.db will be created"));

    // A create cut short is adopted by its ownership tags, not made twice.
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    forget_as_interrupted(&g, "aws_vpc_security_group_egress_rule.db");
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Adopted aws_vpc_security_group_egress_rule.db"));
    let copies = group_rules(&group).iter().filter(|r| r.from_port() == Some(5432)).count();
    assert_eq!(copies, 1);
    // The legacy type's id is known from its arguments: adopted by reading it.
    let import_id = format!("{group}_ingress_tcp_8443_8443_10.0.0.0/8_10.1.0.0/16");
    forget_as_interrupted_with_id(&g, "aws_security_group_rule.https", Some(&import_id));
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Adopted aws_security_group_rule.https"));
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);

    run(&g, &dir, &["destroy", "--auto-approve"]).assert().success();
    let gone = block_on(aws().ec2.describe_security_groups().group_ids(&group).send());
    assert!(gone.is_err(), "the group is deleted");
}

#[test]
fn security_group_rules_import() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    let ec2 = aws().ec2;
    let vpc = block_on(ec2.describe_vpcs().filters(Filter::builder().name("isDefault").values("true").build()).send())
        .unwrap()
        .vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    let group =
        block_on(ec2.create_security_group().group_name(format!("{p}-imp")).description("d").vpc_id(vpc).send())
            .unwrap()
            .group_id()
            .unwrap()
            .to_string();
    let perm = |port: i32, cidr: &str| {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
            .build()
    };
    block_on(ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(perm(80, "10.5.0.0/16")).send())
        .unwrap();
    let created = block_on(
        ec2.authorize_security_group_ingress().group_id(&group).ip_permissions(perm(81, "10.6.0.0/16")).send(),
    )
    .unwrap();
    let sgr = created.security_group_rules()[0].security_group_rule_id().unwrap().to_string();
    let dir = stack(
        &g,
        &format!(
            r#"
variable "prefix" {{
  type = string
}}

resource "aws_security_group_rule" "web" {{
  type              = "ingress"
  from_port         = 80
  to_port           = 80
  protocol          = "tcp"
  cidr_blocks       = ["10.5.0.0/16"]
  security_group_id = "{group}"
}}

resource "aws_vpc_security_group_ingress_rule" "alt" {{
  security_group_id = "{group}"
  ip_protocol       = "tcp"
  from_port         = 81
  to_port           = 81
  cidr_ipv4         = "10.6.0.0/16"
}}
"#
        ),
    );
    run(&g, &dir, &["import", "aws_security_group_rule.web", &format!("{group}_ingress_tcp_80_80_10.5.0.0/16")])
        .assert()
        .success();
    run(&g, &dir, &["import", "aws_vpc_security_group_ingress_rule.alt", &sgr]).assert().success();
    assert!(state_entry(&g, "aws_security_group_rule.web")["id"].as_str().unwrap().starts_with("sgrule-"));
    // Adopted as written: no changes but the ownership tags the update adds.
    run(&g, &dir, &["plan", "--detailed-exitcode", "--target", "aws_security_group_rule.web"]).assert().code(0);
    // A rule that is not there cannot be imported.
    g.cmd(["state", "rm", "-s"]).arg(&dir).args(["-e", "test", "aws_security_group_rule.web"]).assert().success();
    run(&g, &dir, &["import", "aws_security_group_rule.web", &format!("{group}_ingress_tcp_99_99_10.5.0.0/16")])
        .assert()
        .failure()
        .stderr(predicate::str::contains("No aws_security_group_rule"));
}

#[test]
fn inline_rules_and_rule_resources_on_one_group_warn() {
    let g = Gantry::offline();
    let dir = stack(
        &g,
        r#"
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group_rule" "extra" {
  type              = "ingress"
  from_port         = 443
  to_port           = 443
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.web.id
}

resource "aws_vpc_security_group_egress_rule" "out" {
  security_group_id = aws_security_group.web.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
"#,
    );
    g.cmd(["validate", "-s"])
        .arg(&dir)
        .assert()
        .success()
        .stderr(predicate::str::contains("aws_security_group_rule.extra adds a rule to aws_security_group.web"))
        .stderr(predicate::str::contains("each apply of it revokes this rule"))
        .stderr(predicate::str::contains("aws_vpc_security_group_egress_rule.out adds a rule"))
        .stderr(predicate::str::contains("gantry keeps them apart"))
        .stderr(predicate::str::contains("main.tf:12"));
}

const ADDRESSES: &str = r#"
variable "prefix" {
  type = string
}

resource "aws_key_pair" "deploy" {
  key_name_prefix = "${var.prefix}-"
  public_key      = "PUBLIC_KEY"
  tags = {
    team = "web"
  }
}

resource "aws_instance" "web" {
  ami           = "ami-12c6146b"
  instance_type = "t3.micro"
  key_name      = aws_key_pair.deploy.key_name
}

resource "aws_eip" "web" {
  domain = "vpc"
  tags = {
    Name = "${var.prefix}-web"
  }
}

resource "aws_eip_association" "web" {
  allocation_id = aws_eip.web.id
  instance_id   = aws_instance.web.id
}

output "public_ip" {
  value = aws_eip.web.public_ip
}
"#;

fn address(id: &str) -> Option<aws_sdk_ec2::types::Address> {
    let out = block_on(aws().ec2.describe_addresses().allocation_ids(id).send()).ok()?;
    out.addresses().first().cloned()
}

#[test]
fn elastic_ips_associations_and_key_pairs() {
    let g = Gantry::new();
    let dir = stack(&g, &ADDRESSES.replace("PUBLIC_KEY", PUBLIC_KEY));
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Resources: 4 added"));
    let key_name = state_entry(&g, "aws_key_pair.deploy")["id"].as_str().unwrap().to_string();
    assert!(key_name.starts_with(&format!("{}-", g.prefix())), "{key_name}");
    let keys = block_on(aws().ec2.describe_key_pairs().key_names(&key_name).send()).unwrap();
    let key = &keys.key_pairs()[0];
    let key_state = state_entry(&g, "aws_key_pair.deploy");
    assert_eq!(key_state["attributes"]["fingerprint"].as_str(), key.key_fingerprint());
    assert_eq!(key_state["attributes"]["key_pair_id"].as_str(), key.key_pair_id());
    assert!(key_state["attributes"]["arn"].as_str().unwrap().ends_with(&format!(":key-pair/{key_name}")));

    let eip = state_entry(&g, "aws_eip.web");
    let allocation = eip["id"].as_str().unwrap().to_string();
    let instance = state_entry(&g, "aws_instance.web")["id"].as_str().unwrap().to_string();
    let live = address(&allocation).expect("the address exists");
    assert_eq!(live.instance_id(), Some(instance.as_str()), "associated by aws_eip_association");
    assert_eq!(state_entry(&g, "aws_eip_association.web")["id"].as_str(), live.association_id());
    let tags: Vec<_> = live.tags().iter().map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))).collect();
    assert!(tags.contains(&("gantry:address", "aws_eip.web")), "{tags:?}");

    // The association made by another resource is not a change of the EIP.
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));

    // Drift: a tag changed by hand on the address; the key pair deleted by hand.
    let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value("renamed by hand").build();
    block_on(aws().ec2.create_tags().resources(&allocation).tags(tag).send()).unwrap();
    block_on(aws().ec2.delete_key_pair().key_name(&key_name).send()).unwrap();
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Objects have changed outside of gantry"))
        .stdout(predicate::str::contains("renamed by hand"))
        .stdout(predicate::str::contains("aws_eip.web will be updated in-place"))
        .stdout(predicate::str::contains("aws_key_pair.deploy will be created"));
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    let live = address(&allocation).unwrap();
    assert!(live.tags().iter().any(|t| t.key() == Some("Name") && t.value() == Some(&format!("{}-web", g.prefix()))));

    // A tag change is in place; a new public key replaces the key pair.
    edit(&dir, "team = \"web\"", "team = \"platform\"");
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_key_pair.deploy will be updated in-place"));
    edit(&dir, "gantry-test\"", "gantry-test-2\"");
    run(&g, &dir, &["plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("aws_key_pair.deploy must be replaced"));

    // An allocation cut short is found by its tags.
    forget_as_interrupted(&g, "aws_eip.web");
    run(&g, &dir, &["plan"]).assert().success().stdout(predicate::str::contains("aws_eip.web will be created").not());

    edit(&dir, "gantry-test-2\"", "gantry-test\"");
    run(&g, &dir, &["destroy", "--auto-approve"]).assert().success();
    assert!(address(&allocation).is_none(), "released");
    assert!(block_on(aws().ec2.describe_key_pairs().key_names(&key_name).send()).is_err(), "key pair deleted");
}

#[test]
fn elastic_ips_and_key_pairs_import() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    let ec2 = aws().ec2;
    let allocation = block_on(ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send())
        .unwrap()
        .allocation_id()
        .unwrap()
        .to_string();
    let instance =
        block_on(ec2.run_instances().image_id("ami-12c6146b").min_count(1).max_count(1).send()).unwrap().instances()[0]
            .instance_id()
            .unwrap()
            .to_string();
    let association =
        block_on(ec2.associate_address().allocation_id(&allocation).instance_id(&instance).send()).unwrap();
    let association = association.association_id().unwrap().to_string();
    let key_name = format!("{p}-imported");
    block_on(
        ec2.import_key_pair()
            .key_name(&key_name)
            .public_key_material(aws_smithy_types::Blob::new(PUBLIC_KEY.as_bytes()))
            .send(),
    )
    .unwrap();
    let dir = stack(
        &g,
        &format!(
            r#"
variable "prefix" {{
  type = string
}}

resource "aws_eip" "old" {{
  domain = "vpc"
}}

resource "aws_key_pair" "old" {{
  key_name   = "{key_name}"
  public_key = "{PUBLIC_KEY}"
}}

resource "aws_eip_association" "old" {{
  allocation_id = aws_eip.old.id
  instance_id   = "{instance}"
}}
"#
        ),
    );
    run(&g, &dir, &["import", "aws_eip.old", &allocation]).assert().success();
    run(&g, &dir, &["import", "aws_key_pair.old", &key_name]).assert().success();
    // EC2 re-encodes the key it hands back: the import keeps the text EC2
    // gives, and the plan compares it with the configuration.
    let key = state_entry(&g, "aws_key_pair.old");
    assert!(key["attributes"]["public_key"].as_str().unwrap().starts_with("ssh-ed25519 "));
    run(&g, &dir, &["import", "aws_eip_association.old", &association]).assert().success();
    run(&g, &dir, &["plan", "--detailed-exitcode", "--target", "aws_eip_association.old"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No changes."));

    // An association removed by hand is gone: the plan makes it again.
    block_on(ec2.disassociate_address().association_id(&association).send()).unwrap();
    run(&g, &dir, &["plan", "--detailed-exitcode", "--target", "aws_eip_association.old"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_eip_association.old will be created"));
    run(&g, &dir, &["apply", "--auto-approve", "--target", "aws_eip_association.old"]).assert().success();
    assert_eq!(address(&allocation).and_then(|a| a.instance_id().map(str::to_string)), Some(instance.clone()));
    block_on(ec2.terminate_instances().instance_ids(&instance).send()).unwrap();
}

const LOG_GROUPS: &str = r#"
variable "prefix" {
  type = string
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/${var.prefix}/app"
  retention_in_days = 14
  tags = {
    team = "web"
  }
}

resource "aws_cloudwatch_log_group" "jobs" {
  name_prefix  = "/${var.prefix}/jobs-"
  skip_destroy = true
}
"#;

fn log_group(name: &str) -> Option<aws_sdk_cloudwatchlogs::types::LogGroup> {
    let out = block_on(aws().logs.describe_log_groups().log_group_name_prefix(name).send()).ok()?;
    out.log_groups().iter().find(|g| g.log_group_name() == Some(name)).cloned()
}

#[test]
fn log_groups_lifecycle_and_import() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    let dir = stack(&g, LOG_GROUPS);
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    let app = format!("/{p}/app");
    assert_eq!(log_group(&app).and_then(|l| l.retention_in_days()), Some(14));
    let arn = state_entry(&g, "aws_cloudwatch_log_group.app")["attributes"]["arn"].as_str().unwrap().to_string();
    assert!(arn.ends_with(&format!(":log-group:{app}")), "{arn}");
    let tags = block_on(aws().logs.list_tags_for_resource().resource_arn(&arn).send()).unwrap();
    let tags = tags.tags().cloned().unwrap_or_default();
    assert_eq!(tags.get("team").map(String::as_str), Some("web"));
    assert_eq!(tags.get("gantry:address").map(String::as_str), Some("aws_cloudwatch_log_group.app"));
    let jobs = state_entry(&g, "aws_cloudwatch_log_group.jobs")["id"].as_str().unwrap().to_string();
    assert!(jobs.starts_with(&format!("/{p}/jobs-")), "{jobs}");
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);

    // Drift: retention changed by hand; then a config change in place.
    block_on(aws().logs.put_retention_policy().log_group_name(&app).retention_in_days(30).send()).unwrap();
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Objects have changed outside of gantry"))
        .stdout(predicate::str::contains("aws_cloudwatch_log_group.app will be updated in-place"));
    edit(&dir, "retention_in_days = 14", "retention_in_days = 7");
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    assert_eq!(log_group(&app).and_then(|l| l.retention_in_days()), Some(7));
    // A new name replaces.
    edit(&dir, "\"/${var.prefix}/app\"", "\"/${var.prefix}/app2\"");
    run(&g, &dir, &["plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("aws_cloudwatch_log_group.app must be replaced"));

    edit(&dir, "\"/${var.prefix}/app2\"", "\"/${var.prefix}/app\"");

    // A create cut short under a name_prefix is found by its tags.
    forget_as_interrupted(&g, "aws_cloudwatch_log_group.jobs");
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Adopted aws_cloudwatch_log_group.jobs"));
    assert_eq!(state_entry(&g, "aws_cloudwatch_log_group.jobs")["id"], jobs.as_str());

    // skip_destroy keeps the group.
    run(&g, &dir, &["destroy", "--auto-approve"]).assert().success();
    assert!(log_group(&app).is_none());
    assert!(log_group(&jobs).is_some(), "skip_destroy kept it");

    // Import by name.
    let dir = stack(
        &g,
        &format!(
            r#"
variable "prefix" {{
  type = string
}}

resource "aws_cloudwatch_log_group" "kept" {{
  name = "{jobs}"
}}
"#
        ),
    );
    run(&g, &dir, &["import", "aws_cloudwatch_log_group.kept", &jobs]).assert().success();
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);
    run(&g, &dir, &["destroy", "--auto-approve"]).assert().success();
    assert!(log_group(&jobs).is_none());
}

/// What the emulator does differently from AWS, which the types above work
/// around; asserted so that a moto upgrade that changes it is noticed.
#[test]
fn moto_behaviours_the_types_work_around() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    let aws = aws();

    // DescribeLogGroups never reports a class: aws_cloudwatch_log_group
    // keeps the configured one.
    let name = format!("/{p}/quirk");
    block_on(
        aws.logs
            .create_log_group()
            .log_group_name(&name)
            .log_group_class(aws_sdk_cloudwatchlogs::types::LogGroupClass::InfrequentAccess)
            .tags("gantry:stack", &p)
            .send(),
    )
    .unwrap();
    let listed = block_on(aws.logs.describe_log_groups().log_group_name_prefix(&name).send()).unwrap();
    assert_eq!(listed.log_groups()[0].log_group_class(), None);

    // The tagging API knows log groups as "logs:loggroup", not AWS's
    // "logs:log-group": find_by_owner_tags filters by tag only.
    let by_tag = |types: &[&str]| {
        let filter = aws_sdk_resourcegroupstagging::types::TagFilter::builder().key("gantry:stack").values(&p).build();
        let request = aws.tagging.get_resources().tag_filters(filter);
        let request = types.iter().fold(request, |r, t| r.resource_type_filters(*t));
        block_on(request.send()).unwrap().resource_tag_mapping_list().len()
    };
    assert_eq!(by_tag(&["logs:log-group"]), 0);
    assert_eq!(by_tag(&[]), 1);

    // An address with no association says "" rather than nothing.
    let allocation = block_on(aws.ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send()).unwrap();
    let id = allocation.allocation_id().unwrap();
    let live = address(id).unwrap();
    assert_eq!(live.instance_id(), Some(""));
    block_on(aws.ec2.release_address().allocation_id(id).send()).unwrap();
    block_on(aws.logs.delete_log_group().log_group_name(&name).send()).unwrap();
}
