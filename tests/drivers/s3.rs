use crate::drivers::common::*;
