//! The `tinydoi` binary: logging set-up, the command line in `cli`, and the one place an
//! error is printed, with its causes.

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let code = match tinydoi::cli::run() {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("tinydoi: {}", tinydoi::error::chain(e.as_ref()));
            1
        }
    };
    std::process::exit(code);
}
