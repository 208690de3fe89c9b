//! The `tinydoi` binary: logging set-up, the command line in `cli`, and the one place an
//! error is printed, with its causes.

/// mimalloc instead of glibc's malloc: a `PUT /metadata` allocates and frees thousands of
/// small objects (the XML tree, JSON values), which cost glibc about a sixth of the
/// request's instructions (BENCHMARKS.md, issue 20 fourth pass), and its per-thread heaps
/// keep the eight workers from contending on one arena lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
