//! gantry's integration tests: ONE test binary (each extra binary would link
//! the AWS SDK again), one module per feature. They drive the real `gantry`
//! binary against a real moto emulator on 127.0.0.1; see `support`.

mod support;

mod bad_input;
mod bootstrap;
mod call_budget;
mod cli_grammar;
mod consistency;
mod corpus;
mod crash;
mod data_sources;
mod deploy;
mod deploy_proxy;
mod deploy_ssm;
mod dynamic_moved;
mod ec2_neighbours;
mod ecr_iam_neighbours;
mod exec;
mod faults;
mod frontend;
mod generated_names;
mod github_ci;
mod inert_arguments;
mod lifecycle;
mod modules;
mod plan_json;
mod prompt;
mod random;
mod reference_stack;
mod remote_state;
mod s3_neighbours;
mod secrets;
mod smoke;
mod tfstate;
mod tfstate_s3;
mod trust_policy;
mod type_arguments;
mod workflow;
