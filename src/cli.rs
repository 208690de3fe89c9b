//! The command line: `tinydoi serve` (the default) and the operator commands.

use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{self, Config};
use crate::server::Server;
use crate::{db, manage};

#[derive(Parser)]
#[command(
    name = "tinydoi",
    version,
    about = "A stand-in for DataCite's DOI registration service (REST + MDS APIs, API keys)"
)]
pub struct Cli {
    /// SQLite database file (`:memory:` for a throw-away database).
    #[arg(long, global = true, default_value = config::DEFAULT_DB)]
    pub db: PathBuf,
    /// PBKDF2 iterations for passwords hashed by this command.
    #[arg(long, global = true, default_value_t = config::DEFAULT_PBKDF2_ITERATIONS)]
    pub pbkdf2_iterations: u32,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default command).
    Serve(ServeArgs),
    /// Manage providers (members).
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Manage clients (repositories).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage the staff account ADMIN.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Monthly data files of findable DOIs.
    #[command(subcommand)]
    Datafile(DatafileCommand),
    /// Check DataCite kernel-4 XML records; exits 0 only when every file is valid.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a record in another form: DataCite REST attributes (`json`), kernel-4 XML
    /// (`xml`), or any format of content negotiation (`ris`, `bibtex`, `citation` …).
    Convert {
        /// The form to print.
        #[arg(long, value_enum)]
        to: ConvertForm,
        /// CSL style of `--to citation` (`apa`, `ieee`, `vancouver` …; unknown: APA).
        #[arg(long)]
        style: Option<String>,
        /// CSL locale of `--to citation` (`en-US`, `de` …).
        #[arg(long)]
        locale: Option<String>,
        file: PathBuf,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ConvertForm {
    Json,
    Xml,
    Datacite,
    DataciteJson,
    Crosscite,
    SchemaOrg,
    Citeproc,
    Ris,
    Bibtex,
    Csv,
    Jats,
    Citation,
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create a key and print it (the only time it is shown).
    Create {
        #[arg(long)]
        client: String,
        #[arg(long)]
        name: String,
        /// Lifetime such as `90d` (default: never expires).
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List a client's keys, revoked and expired ones included.
    List {
        #[arg(long)]
        client: String,
    },
    /// Revoke a key by its id.
    Revoke { id: String },
}

#[derive(Subcommand)]
pub enum DatafileCommand {
    /// Build a month's data file now, unless it is built already.
    Build {
        /// The month, `YYYY-MM` (default: the latest complete month).
        #[arg(long)]
        month: Option<String>,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = config::DEFAULT_LISTEN)]
    pub listen: String,
    /// Worker threads (default: 4 per core, 4 to 32).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Fixtures file to load at start (idempotent); replaces the built-in demo data.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, default_value_t = config::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Rate-limit sliding window, e.g. `5m` (default 5 minutes).
    #[arg(long)]
    pub rate_limit_window: Option<humantime::Duration>,
    /// Requests per window for authenticated callers, per account (default 3000).
    #[arg(long)]
    pub rate_limit_authenticated: Option<u32>,
    /// Requests per window for callers giving an email (User-Agent or `mailto=`), per address (default 1000).
    #[arg(long)]
    pub rate_limit_identified: Option<u32>,
    /// Requests per window for anonymous callers, per address (default 500).
    #[arg(long)]
    pub rate_limit_anonymous: Option<u32>,
    /// Turn rate limiting off (e.g. for benchmarks).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Close a connection that sends nothing (or takes no reply) for this long, idle
    /// keep-alive connections included, e.g. `20s` (the default).
    #[arg(long)]
    pub idle_timeout: Option<humantime::Duration>,
    /// Longest time to receive one request body, e.g. `60s` (the default).
    #[arg(long)]
    pub body_timeout: Option<humantime::Duration>,
    /// Browsers reach the web console over HTTPS (through a proxy): its cookie gets `Secure`
    /// and its forms expect an `https://` origin.
    #[arg(long)]
    pub console_https: bool,
    /// A console session ends after this long without a request, e.g. `30m` (the default).
    #[arg(long)]
    pub console_idle: Option<humantime::Duration>,
    /// A console session ends this long after sign-in whatever its use, e.g. `12h` (the default).
    #[arg(long)]
    pub console_lifetime: Option<humantime::Duration>,
    /// Largest request line and headers together, in bytes (larger: 431, read no further).
    #[arg(long, default_value_t = config::DEFAULT_HEAD_LIMIT)]
    pub head_limit: usize,
    /// Longest time to receive a request line and its headers, e.g. `20s` (the default);
    /// a client trickling them longer gets 408 and is disconnected.
    #[arg(long)]
    pub header_timeout: Option<humantime::Duration>,
    /// Most connections served at once; more get 503 at once.
    #[arg(long, default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
}

impl ServeArgs {
    fn rate_limit(&self) -> Option<config::RateLimitConfig> {
        if self.no_rate_limit {
            return None;
        }
        let default = config::RateLimitConfig::default();
        Some(config::RateLimitConfig {
            window: self.rate_limit_window.map(Into::into).unwrap_or(default.window),
            authenticated: self.rate_limit_authenticated.unwrap_or(default.authenticated),
            identified: self.rate_limit_identified.unwrap_or(default.identified),
            anonymous: self.rate_limit_anonymous.unwrap_or(default.anonymous),
        })
    }
}

#[derive(Subcommand)]
pub enum ProviderCommand {
    /// Create a provider.
    Add {
        symbol: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Read the provider's password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Create a client with its prefixes.
    Add {
        symbol: String,
        #[arg(long)]
        provider: String,
        /// A DOI prefix owned by the client (repeatable).
        #[arg(long = "prefix")]
        prefixes: Vec<String>,
        /// Host patterns DOI URLs must match, e.g. `example.org,*.example.org` (default `*`).
        #[arg(long)]
        domains: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Read the client's password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Change a client's password (read from standard input).
    Passwd {
        symbol: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Make a client read-only.
    Deactivate { symbol: String },
    /// Let a client write again.
    Activate { symbol: String },
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Set the password of the staff account ADMIN (read from standard input).
    Passwd {
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    Ok(password)
}

/// Runs the command line and returns the process exit code.
pub fn run() -> i32 {
    let mut cli = Cli::parse();
    if cli.command.is_none() {
        // `serve` is the default: parse again with it, so every serve option keeps the
        // defaults clap declares instead of a second copy of them here.
        cli = Cli::parse_from(std::env::args_os().chain(["serve".into()]));
    }
    let result = match cli.command {
        None => Err("no command".to_string()),
        Some(Command::Serve(args)) => serve(&cli.db, cli.pbkdf2_iterations, args),
        Some(Command::Validate { files }) => {
            let mut out = std::io::stdout().lock();
            return if crate::metadata::cli::validate_files(&files, &mut out) {
                0
            } else {
                1
            };
        }
        Some(Command::Convert {
            to,
            style,
            locale,
            file,
        }) => convert(to, &file, style.as_deref(), locale.as_deref()),
        Some(command) => operate(&cli.db, cli.pbkdf2_iterations, command),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("tinydoi: {e}");
            1
        }
    }
}

fn convert(to: ConvertForm, file: &Path, style: Option<&str>, locale: Option<&str>) -> Result<(), String> {
    use crate::formats::{self, CitationOptions, Format};
    use crate::metadata::cli::{convert_file, ConvertTo};
    let format = match to {
        ConvertForm::Json => return print_line(convert_file(file, ConvertTo::Json)?),
        ConvertForm::Xml => match formats::cli::kernel4_file(file)? {
            Some(xml) => return print_line(xml),
            None => return print_line(convert_file(file, ConvertTo::Xml)?),
        },
        ConvertForm::Datacite => Format::DataciteXml,
        ConvertForm::DataciteJson => Format::DataciteJson,
        ConvertForm::Crosscite => Format::CrossciteJson,
        ConvertForm::SchemaOrg => Format::SchemaOrg,
        ConvertForm::Citeproc => Format::Citeproc,
        ConvertForm::Ris => Format::Ris,
        ConvertForm::Bibtex => Format::Bibtex,
        ConvertForm::Csv => Format::Csv,
        ConvertForm::Jats => Format::Jats,
        ConvertForm::Citation => Format::Citation,
    };
    let bytes = formats::cli::convert_file(file, format, CitationOptions { style, locale })?;
    print_line(String::from_utf8_lossy(&bytes).trim_end().to_string())
}

fn print_line(text: String) -> Result<(), String> {
    // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(())
}

fn operate(db_path: &Path, iterations: u32, command: Command) -> Result<(), String> {
    let conn = db::open(db_path)?;
    let message = match command {
        Command::Serve(_) | Command::Validate { .. } | Command::Convert { .. } => {
            unreachable!("handled by run without a database")
        }
        Command::Provider(ProviderCommand::Add {
            symbol,
            name,
            email,
            password_stdin,
        }) => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let symbol = manage::add_provider(
                &conn,
                &symbol,
                name.as_deref(),
                email.as_deref(),
                password.as_deref(),
                iterations,
            )?;
            format!("provider {symbol} created")
        }
        Command::Client(ClientCommand::Add {
            symbol,
            provider,
            prefixes,
            domains,
            name,
            email,
            password_stdin: _,
        }) => {
            let password = read_password()?;
            let new = manage::NewClient {
                symbol: &symbol,
                provider: &provider,
                name: name.as_deref(),
                email: email.as_deref(),
                prefixes: &prefixes,
                domains: domains.as_deref(),
                password: Some(&password),
            };
            let symbol = manage::add_client(&conn, &new, iterations)?;
            format!("client {symbol} created")
        }
        Command::Client(ClientCommand::Passwd { symbol, .. }) => {
            let password = read_password()?;
            format!(
                "password of {} changed",
                manage::set_password(&conn, &symbol, &password, iterations)?
            )
        }
        Command::Client(ClientCommand::Deactivate { symbol }) => {
            format!(
                "client {} deactivated",
                manage::set_client_active(&conn, &symbol, false)?
            )
        }
        Command::Client(ClientCommand::Activate { symbol }) => {
            format!("client {} activated", manage::set_client_active(&conn, &symbol, true)?)
        }
        Command::Key(command) => crate::keys::cli::run(&conn, command)?,
        Command::Datafile(DatafileCommand::Build { month }) => build_datafile(&conn, db_path, month)?,
        Command::Admin(AdminCommand::Passwd { .. }) => {
            let password = read_password()?;
            format!(
                "password of {} changed",
                manage::set_password(&conn, "ADMIN", &password, iterations)?
            )
        }
    };
    println!("{message}");
    Ok(())
}

/// Builds a data file with a progress line on standard error.
fn build_datafile(conn: &rusqlite::Connection, db_path: &Path, month: Option<String>) -> Result<String, String> {
    let now = crate::time::now();
    let month = month.unwrap_or_else(|| crate::datafile::previous_month(now));
    if crate::datafile::parse_month(&month).is_none() {
        return Err(format!("not a month (YYYY-MM): {month}"));
    }
    let mut stderr = std::io::stderr();
    let mut built = false;
    let file = crate::datafile::ensure_built(conn, db_path, &month, now, &mut |done, total| {
        built = true;
        let _ = write!(stderr, "\rdata file {month}: {done}/{total} records");
        let _ = stderr.flush();
    })
    .map_err(|e| match e {
        crate::error::Error::BadRequest(m) => m,
        other => other.to_string(),
    })?;
    if built {
        eprintln!();
    } else {
        eprintln!("data file {month} was built already; kept as it is");
    }
    Ok(format!(
        "data file {}: {} records, {} bytes, sha256 {}, {}",
        file.month, file.records, file.size, file.sha256, file.path
    ))
}

fn serve(db_path: &Path, iterations: u32, args: ServeArgs) -> Result<(), String> {
    let rate_limit = args.rate_limit();
    let config = Config {
        listen: args.listen,
        db_path: db_path.to_path_buf(),
        workers: args.workers.unwrap_or_else(config::default_workers),
        fixtures: args.fixtures,
        pbkdf2_iterations: iterations,
        body_limit: args.body_limit,
        rate_limit,
        idle_timeout: args.idle_timeout.map_or(Config::default().idle_timeout, Into::into),
        body_timeout: args.body_timeout.map_or(Config::default().body_timeout, Into::into),
        console: config::ConsoleConfig {
            https: args.console_https,
            idle: args.console_idle.map_or(Config::default().console.idle, Into::into),
            lifetime: args
                .console_lifetime
                .map_or(Config::default().console.lifetime, Into::into),
        },
        head_limit: args.head_limit,
        header_timeout: args.header_timeout.map_or(Config::default().header_timeout, Into::into),
        max_connections: args.max_connections,
        ..Config::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone()).map_err(|e| format!("cannot handle signals: {e}"))?;
    }
    let server = Server::start(config)?;
    println!("listening on http://{}", server.addr());
    let _ = std::io::stdout().flush();
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    log::info!("shutting down: finishing in-flight requests");
    server.shutdown();
    log::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod rate_limit_flag_tests {
    use super::*;

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from([&["tinydoi", "serve"], args].concat()).expect("parses");
        match cli.command {
            Some(Command::Serve(args)) => args,
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn rate_limit_flags() {
        let limits = serve_args(&[
            "--rate-limit-window",
            "1m",
            "--rate-limit-authenticated",
            "30",
            "--rate-limit-identified",
            "20",
            "--rate-limit-anonymous",
            "10",
        ])
        .rate_limit()
        .expect("on");
        assert_eq!(limits.window, Duration::from_secs(60));
        assert_eq!(
            (limits.authenticated, limits.identified, limits.anonymous),
            (30, 20, 10)
        );
        assert_eq!(serve_args(&[]).rate_limit(), Some(config::RateLimitConfig::default()));
        assert_eq!(serve_args(&["--no-rate-limit"]).rate_limit(), None);
    }
}
