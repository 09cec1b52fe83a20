//! gantry's integration tests: ONE test binary (each extra binary would link
//! the AWS SDK again), one module per feature. They drive the real `gantry`
//! binary against a real moto emulator on 127.0.0.1; see `support`.

mod support;

mod bad_input;
mod bootstrap;
mod crash;
mod deploy;
mod deploy_ssm;
mod exec;
mod faults;
mod frontend;
mod lifecycle;
mod prompt;
mod reference_stack;
mod remote_state;
mod secrets;
mod smoke;
mod trust_policy;
mod workflow;
