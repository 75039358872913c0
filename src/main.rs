fn main() {
    std::process::exit(zinfra::cli::main());
}
