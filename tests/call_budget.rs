//! API-call budgets of plan and apply, counted by operation through the
//! fault proxy (clean, no latency) in front of a moto of the test's own; and
//! the check that fewer calls still see every attribute changed out of band.
//! Budgets depend only on what gantry asks, never on the machine's speed;
//! timings are the benchmark's business (scripts/bench.sh latency).

use std::collections::BTreeMap;

use aws_sdk_ssm::types::{ParameterTier, ParameterType, ResourceTypeForTagging, Tag};

use crate::support::fault_proxy::{Call, FaultProxy, Schedule};
use crate::support::{block_on, Aws, Gantry, Moto};

/// Parameters in the budget stack: more than one batch of every call
/// (GetParameters takes 10 names, DescribeParameters 50, GetResources pages
/// of 100), and not a multiple of any.
const PARAMETERS: usize = 123;

const STACK: &str = r#"
variable "prefix" {
  type = string
}

resource "aws_ssm_parameter" "p" {
  count          = 123
  name           = "/${var.prefix}/p${count.index}"
  type           = "String"
  insecure_value = "value ${count.index}"
  description    = "parameter ${count.index}"
  tags = {
    team = "budget"
  }
}
"#;

fn by_operation(trace: &[Call]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for call in trace {
        *counts.entry(call.operation.clone()).or_default() += 1;
    }
    counts
}

#[test]
fn ssm_plans_and_creates_stay_within_their_call_budgets() {
    let moto = Moto::start_lean();
    let proxy = FaultProxy::start(moto.addr(), Schedule::clean());
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", STACK);
    let var = g.prefix_var();

    let out = g.cmd(["apply", "-auto-approve", "-s", "s", "-var", &var]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let apply = by_operation(&proxy.trace());
    // One PutParameter per parameter, tags included; the ARN is derived,
    // not read back; the account is asked of STS once.
    assert_eq!(apply.get("PutParameter"), Some(&PARAMETERS), "{apply:?}");
    assert_eq!(apply.get("GetParameters"), None, "a create reads nothing back: {apply:?}");
    assert_eq!(apply.get("AddTagsToResource"), None, "tags go in the create call: {apply:?}");
    assert!(apply.get("GetCallerIdentity").copied().unwrap_or(0) <= 1, "{apply:?}");
    let total: usize = apply.values().sum();
    assert!(total <= PARAMETERS + 2, "apply made {total} calls for {PARAMETERS} parameters: {apply:?}");

    proxy.set_schedule(Schedule::clean());
    let out = g.cmd(["plan", "-detailed-exitcode", "-s", "s", "-var", &var]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let plan = by_operation(&proxy.trace());
    assert_eq!(plan.get("GetParameters"), Some(&PARAMETERS.div_ceil(10)), "{plan:?}");
    assert_eq!(plan.get("ListTagsForResource"), None, "tags come from GetResources: {plan:?}");
    // DescribeParameters: 50 names a call on AWS; moto ignores MaxResults
    // and pages by ten, and a full last page still carries a NextToken, so
    // here up to n/10 + 1 pages for each batch of n names.
    let describe = plan.get("DescribeParameters").copied().unwrap_or(0);
    let batches = PARAMETERS.div_ceil(50);
    let most: usize = (0..batches).map(|b| (PARAMETERS - b * 50).min(50) / 10 + 1).sum();
    assert!((batches..=most).contains(&describe), "{describe} DescribeParameters, at most {most}: {plan:?}");
    let total: usize = plan.values().sum();
    assert!(
        total as f64 <= 0.3 * PARAMETERS as f64,
        "a no-op plan of {PARAMETERS} parameters made {total} calls (budget 0.3 a parameter): {plan:?}"
    );
}

/// Every attribute a read fetches, changed behind gantry's back, shows in the plan.
#[test]
fn an_out_of_band_change_to_any_parameter_attribute_shows_in_the_plan() {
    let moto = Moto::start_lean();
    let g = Gantry::with_moto(&moto);
    let aws = Aws::for_moto(&moto);
    let prefix = g.prefix().to_string();
    let cases = ["value", "description", "tier", "type", "allowed_pattern", "tags"];
    let mut stack = String::from("variable \"prefix\" {\n  type = string\n}\n");
    for case in cases {
        stack.push_str(&format!(
            r#"
resource "aws_ssm_parameter" "{case}" {{
  name           = "/${{var.prefix}}/{case}"
  type           = "String"
  insecure_value = "abc"
  description    = "about {case}"
  allowed_pattern = "^[a-z]+$"
  tags = {{
    team = "drift"
  }}
}}
"#
        ));
    }
    g.write("s/main.tf", &stack);
    let var = g.prefix_var();
    let out = g.cmd(["apply", "-auto-approve", "-s", "s", "-var", &var]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = g.cmd(["plan", "-detailed-exitcode", "-s", "s", "-var", &var]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    block_on(async {
        for case in cases {
            let name = format!("/{prefix}/{case}");
            let put = aws
                .ssm
                .put_parameter()
                .name(&name)
                .overwrite(true)
                .r#type(ParameterType::String)
                .value("abc")
                .description(format!("about {case}"))
                .allowed_pattern("^[a-z]+$");
            let put = match case {
                "value" => put.value("xyz"),
                "description" => put.description("changed by hand"),
                "tier" => put.tier(ParameterTier::Advanced),
                "type" => put.r#type(ParameterType::StringList),
                "allowed_pattern" => put.allowed_pattern("^.*$"),
                _ => {
                    let tag = Tag::builder().key("team").value("someone-else").build().unwrap();
                    aws.ssm
                        .add_tags_to_resource()
                        .resource_type(ResourceTypeForTagging::Parameter)
                        .resource_id(&name)
                        .tags(tag)
                        .send()
                        .await
                        .unwrap();
                    continue;
                }
            };
            put.send().await.unwrap_or_else(|e| panic!("changing {case}: {e:?}"));
        }
    });

    let out = g.cmd(["plan", "-detailed-exitcode", "-s", "s", "-var", &var]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for case in cases {
        assert!(stdout.contains(&format!("aws_ssm_parameter.{case} will be updated")), "{case} missed:\n{stdout}");
    }
}
