//! Link options for the `zinfra` binary only (tests link as before).
//!
//! Memory and start-up: the binary is mostly the code of 19 AWS SDK crates. On x86_64 Linux, where
//! rustc links with its bundled lld, two linker options cut what every run maps and relocates:
//! - `-z pack-relative-relocs` stores the ~400,000 relative relocations of a position-independent
//!   binary as a compact bitmap (RELR) instead of 24 bytes each: about 9 MB less read at every start
//!   in a debug build (needs glibc 2.36 or later at run time);
//! - `--icf=all` folds identical functions (the SDKs' many identical generic instantiations), about
//!   an eighth of the code, so fewer distinct pages are touched. Rust makes no promise that distinct
//!   functions have distinct addresses, so folding is sound.
//!
//! `ZINFRA_PLAIN_LINK=1` turns both off (e.g. to build for an older glibc).

fn main() {
    println!("cargo:rerun-if-env-changed=ZINFRA_PLAIN_LINK");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let lld_linux = var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("CARGO_CFG_TARGET_ARCH") == "x86_64";
    if lld_linux && var("ZINFRA_PLAIN_LINK").is_empty() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}
