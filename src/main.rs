//! The `tinydoi` binary: logging set-up, then the command line in `cli`.

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    std::process::exit(tinydoi::cli::run());
}
