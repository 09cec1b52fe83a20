//! gantry: plan and apply the AWS infrastructure a web app needs, then deploy
//! the app onto it.

pub mod addr;
pub mod apply;
pub mod aws;
pub mod aws_http;
pub mod bootstrap;
pub mod cli;
pub mod commands;
pub mod config;
pub mod contract;
pub mod deploy;
pub mod desired;
pub mod diag;
pub mod eval;
pub mod graph;
pub mod logging;
pub mod node_eval;
pub mod ownership;
pub mod plan;
pub mod render;
pub mod resources;
pub mod scope;
pub mod state;
pub mod tfstate;
pub mod trust_policy;
pub mod value;
