//! The harness itself works: moto starts and answers through the SDK, its
//! request log counts calls, and the binary runs.

use predicates::prelude::*;

use crate::support::{aws, block_on, moto, Aws, Gantry, Moto, ACCOUNT_ID};

#[test]
fn moto_answers_ssm_describe_parameters() {
    let before = moto().requests();
    let aws = aws();
    let answer = block_on(aws.ssm.describe_parameters().send()).expect("DescribeParameters against moto");
    // Other tests share this server: their parameters may be listed too.
    let _ = answer.parameters();
    assert!(moto().requests() > before, "moto's request log did not grow:\n{}", moto().log());
}

#[test]
fn moto_request_log_counts_each_call() {
    // A server of its own: the shared one serves other tests meanwhile.
    let moto = Moto::start();
    let aws = Aws::for_moto(&moto);
    let before = moto.requests();

    let identity = block_on(aws.sts.get_caller_identity().send()).expect("GetCallerIdentity");
    block_on(aws.ssm.describe_parameters().send()).expect("DescribeParameters");

    assert_eq!(identity.account(), Some(ACCOUNT_ID));
    assert_eq!(moto.requests() - before, 2, "moto's log:\n{}", moto.log());
}

#[test]
fn gantry_prints_its_version() {
    Gantry::offline()
        .command()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}
