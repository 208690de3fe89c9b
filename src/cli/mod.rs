//! The command line: `tinydoi serve` (the default) and the operator commands. The clap
//! types are here; each command's work is in the module beside them (`serve`, `accounts`,
//! `keys`, `datafile`, `metadata`), calling the same domain functions as the API.

mod accounts;
mod datafile;
mod keys;
mod metadata;
mod serve;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::config;

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
    /// Rebuild the search index, counts and facets from the stored DOIs (after editing
    /// the `dois` table by hand); safe while the server runs.
    Reindex,
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
        /// Comma list of scopes: dois:read, dois:write, reports:write, datafile:read
        /// (default: everything the client may do).
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// Comma list of the client's prefixes the key may use (default: all, including later ones).
        #[arg(long, value_delimiter = ',')]
        prefixes: Option<Vec<String>>,
        /// Comma list of networks (CIDR) the key may be used from (default: anywhere).
        #[arg(long, value_delimiter = ',')]
        allowed_networks: Option<Vec<String>>,
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
    /// Leaked-key reports accepted per address per 5 minutes.
    #[arg(long, default_value_t = config::DEFAULT_LEAK_REPORTS)]
    pub leak_reports: u32,
    /// GitHub's secret scanning public keys (the JSON of api.github.com/meta/public_keys/secret_scanning),
    /// which turns on POST /credentials/secret-scanning.
    #[arg(long)]
    pub secret_scanning_keys: Option<PathBuf>,
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
    /// MiB of rendered single-DOI reads kept in memory (0: none); a cached read is checked
    /// against the DOI's revision in the database at every request.
    #[arg(long, default_value_t = config::DEFAULT_READ_CACHE_MB)]
    pub read_cache_mb: usize,
}

impl ServeArgs {
    pub(crate) fn rate_limit(&self) -> Option<config::RateLimitConfig> {
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

/// Reads a password from the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

/// Runs the command line: `Ok(false)` when a command ran and its verdict is "no"
/// (`validate` found an invalid file). `main` prints an error with its causes.
pub fn run() -> anyhow::Result<bool> {
    let mut cli = Cli::parse();
    if cli.command.is_none() {
        // `serve` is the default: parse again with it, so every serve option keeps the
        // defaults clap declares instead of a second copy of them here.
        cli = Cli::parse_from(std::env::args_os().chain(["serve".into()]));
    }
    execute(cli)
}

/// Runs one command; `Ok(false)` when it ran and its verdict is "no" (`validate`).
fn execute(cli: Cli) -> anyhow::Result<bool> {
    let Some(command) = cli.command else {
        bail!("no command");
    };
    let iterations = cli.pbkdf2_iterations;
    let message = match command {
        Command::Serve(args) => return serve::run(&cli.db, iterations, args).map(|()| true),
        Command::Validate { files } => return Ok(metadata::validate_files(&files, &mut std::io::stdout().lock())),
        Command::Convert {
            to,
            style,
            locale,
            file,
        } => return metadata::convert(to, &file, style.as_deref(), locale.as_deref()).map(|()| true),
        Command::Provider(command) => accounts::provider(&open(&cli.db)?, command, iterations)?,
        Command::Client(command) => accounts::client(&open(&cli.db)?, command, iterations)?,
        Command::Admin(command) => accounts::admin(&open(&cli.db)?, command, iterations)?,
        Command::Key(command) => keys::run(&open(&cli.db)?, command)?,
        Command::Datafile(command) => datafile::run(&open(&cli.db)?, &cli.db, command)?,
        Command::Reindex => format!("reindexed {} DOIs", crate::dois::reindex(&open(&cli.db)?)?),
    };
    println!("{message}");
    Ok(true)
}

/// The database of an operator command.
fn open(path: &Path) -> anyhow::Result<crate::db::Conn> {
    crate::db::open(path)
}

#[cfg(test)]
mod rate_limit_flag_tests {
    use super::*;
    use std::time::Duration;

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
