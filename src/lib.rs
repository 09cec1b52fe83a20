//! gantry: plan and apply the AWS infrastructure a web app needs, then deploy
//! the app onto it.

pub mod addr;
pub mod aws;
pub mod eval;
pub mod resources;
pub mod value;
