//! `tinydoi provider|client|admin …`: account management through `manage`, the functions
//! the fixtures loader uses too. Each returns the line to print.

use super::{read_password, AdminCommand, ClientCommand, ProviderCommand};
use crate::db::Conn;
use crate::manage::{self, NewClient, NewProvider};

pub fn provider(conn: &Conn, command: ProviderCommand, iterations: u32) -> anyhow::Result<String> {
    let ProviderCommand::Add {
        symbol,
        name,
        email,
        password_stdin,
    } = command;
    let password = if password_stdin { Some(read_password()?) } else { None };
    let new = NewProvider {
        symbol: &symbol,
        name: name.as_deref(),
        email: email.as_deref(),
    };
    let symbol = manage::add_provider(conn, &new, password.as_deref(), iterations)?;
    Ok(format!("provider {symbol} created"))
}

pub fn client(conn: &Conn, command: ClientCommand, iterations: u32) -> anyhow::Result<String> {
    Ok(match command {
        ClientCommand::Add {
            symbol,
            provider,
            prefixes,
            domains,
            name,
            email,
            password_stdin: _,
        } => {
            let password = read_password()?;
            let new = NewClient {
                symbol: &symbol,
                provider: &provider,
                name: name.as_deref(),
                email: email.as_deref(),
                prefixes: &prefixes,
                domains: domains.as_deref(),
                is_active: None,
            };
            let symbol = manage::add_client(conn, &new, Some(&password), iterations)?;
            format!("client {symbol} created")
        }
        ClientCommand::Passwd { symbol, .. } => {
            let password = read_password()?;
            let symbol = manage::set_password(conn, &symbol, &password, iterations)?;
            format!("password of {symbol} changed")
        }
        ClientCommand::Deactivate { symbol } => {
            format!(
                "client {} deactivated",
                manage::set_client_active(conn, &symbol, false)?
            )
        }
        ClientCommand::Activate { symbol } => {
            format!("client {} activated", manage::set_client_active(conn, &symbol, true)?)
        }
    })
}

pub fn admin(conn: &Conn, command: AdminCommand, iterations: u32) -> anyhow::Result<String> {
    let AdminCommand::Passwd { .. } = command;
    let password = read_password()?;
    let symbol = manage::set_password(conn, crate::accounts::ADMIN, &password, iterations)?;
    Ok(format!("password of {symbol} changed"))
}
