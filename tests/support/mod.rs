pub mod cli;
pub mod moto;
#[allow(unused_imports)]
pub use moto::*;
pub mod localstack;
pub mod proxy;
