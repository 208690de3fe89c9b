//! What an API key may do (issue 19): its scopes, the prefixes it may touch and the networks
//! it may be used from. A key without limits may do everything its client may, as before;
//! limits are fixed when the key is created and carried over by rotation, never widened.
//!
//! Stored as three nullable text columns of `api_keys` (NULL = no limit of that kind), each
//! a space-separated list, so the per-request key look-up reads them from its covering
//! index. Reading stored text fails closed: a name it does not know grants nothing.

use std::fmt;
use std::net::IpAddr;

/// Most prefixes or networks one key may name (bounds the request and every check).
pub const MAX_ENTRIES: usize = 100;

/// One permission of a key. `dois:write` includes `dois:read` (a writer reads back what
/// it wrote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    DoisRead,
    DoisWrite,
    ReportsWrite,
    DatafileRead,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::DoisRead,
        Scope::DoisWrite,
        Scope::ReportsWrite,
        Scope::DatafileRead,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scope::DoisRead => "dois:read",
            Scope::DoisWrite => "dois:write",
            Scope::ReportsWrite => "reports:write",
            Scope::DatafileRead => "datafile:read",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.name() == s)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    /// The given scopes, with `dois:read` added to `dois:write`.
    pub fn of(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        let mut bits = scopes.into_iter().fold(0, |bits, s| bits | s.bit());
        if bits & Scope::DoisWrite.bit() != 0 {
            bits |= Scope::DoisRead.bit();
        }
        Scopes(bits)
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// Space-separated names, as stored.
    pub fn to_text(self) -> String {
        self.iter().map(Scope::name).collect::<Vec<_>>().join(" ")
    }

    /// Stored text; unknown names are dropped (they grant nothing).
    pub fn from_text(text: &str) -> Scopes {
        Scopes::of(text.split_ascii_whitespace().filter_map(Scope::parse))
    }
}

/// An IPv4 or IPv6 network in CIDR form (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    len: u8,
}

impl Network {
    /// Parses CIDR notation; host bits must be zero (`10.0.0.1/8` is a typo, not a network).
    pub fn parse(s: &str) -> Option<Network> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) if !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) && l.len() <= 3 => {
                (a.parse::<IpAddr>().ok()?, Some(l.parse::<u8>().ok()?))
            }
            Some(_) => return None,
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        if len > max {
            return None;
        }
        let network = Network { addr, len };
        (bits(addr) & !mask(len, max) == 0).then_some(network)
    }

    /// Whether `ip` lies in this network; an IPv4 address seen as IPv4-mapped IPv6 (a
    /// dual-stack listener) counts as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let max = if ip.is_ipv4() { 32 } else { 128 };
        bits(ip) & mask(self.len, max) == bits(self.addr)
    }
}

/// The address as a number, IPv4 in the low 32 bits.
fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The network mask of prefix length `len` in an address of `max` bits.
fn mask(len: u8, max: u8) -> u128 {
    let all: u128 = if max == 32 { u128::from(u32::MAX) } else { u128::MAX };
    if len == 0 {
        0
    } else {
        all & (all << (max - len))
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The limits of one key; `None` in a field means no limit of that kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub scopes: Option<Scopes>,
    /// Lower-case prefixes (`10.5072`); a subset of the client's when the key was created.
    pub prefixes: Option<Vec<String>>,
    pub networks: Option<Vec<Network>>,
}

impl Limits {
    pub fn is_unlimited(&self) -> bool {
        self.scopes.is_none() && self.prefixes.is_none() && self.networks.is_none()
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.is_none_or(|s| s.contains(scope))
    }

    pub fn allows_prefix(&self, prefix: &str) -> bool {
        self.prefixes
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p.eq_ignore_ascii_case(prefix)))
    }

    /// Whether a request from `remote` may use the key; an unknown address only when the
    /// key has no network limit.
    pub fn allows_address(&self, remote: Option<IpAddr>) -> bool {
        match (&self.networks, remote) {
            (None, _) => true,
            (Some(nets), Some(ip)) => nets.iter().any(|n| n.contains(ip)),
            (Some(_), None) => false,
        }
    }

    /// The scopes in effect (every scope when unlimited).
    pub fn effective_scopes(&self) -> Scopes {
        self.scopes.unwrap_or(Scopes::of(Scope::ALL))
    }

    /// The three stored columns: scopes, prefixes, allowed networks.
    pub fn to_columns(&self) -> [Option<String>; 3] {
        [
            self.scopes.map(Scopes::to_text),
            self.prefixes.as_ref().map(|p| p.join(" ")),
            self.networks
                .as_ref()
                .map(|n| n.iter().map(Network::to_string).collect::<Vec<_>>().join(" ")),
        ]
    }

    /// The limits stored in the three columns; an unreadable network is dropped, so a
    /// damaged column narrows the key rather than widening it.
    pub fn from_columns(scopes: Option<&str>, prefixes: Option<&str>, networks: Option<&str>) -> Limits {
        Limits {
            scopes: scopes.map(Scopes::from_text),
            prefixes: prefixes.map(|p| p.split_ascii_whitespace().map(str::to_ascii_lowercase).collect()),
            networks: networks.map(|n| n.split_ascii_whitespace().filter_map(Network::parse).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_match() {
        let n = Network::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(ip("10.255.1.2")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped counts as IPv4");
        assert!(!n.contains(ip("::1")));
        let one = Network::parse("127.0.0.1").unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        assert!(Network::parse("::1/128").unwrap().contains(ip("::1")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Network::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x/8",
            "",
            "10.0.0.0/8/8",
        ] {
            assert_eq!(Network::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn scopes_round_trip_and_write_implies_read() {
        let s = Scopes::of([Scope::DoisWrite, Scope::DatafileRead]);
        assert!(s.contains(Scope::DoisRead));
        assert!(!s.contains(Scope::ReportsWrite));
        assert_eq!(s.to_text(), "dois:read dois:write datafile:read");
        assert_eq!(Scopes::from_text(&s.to_text()), s);
        assert_eq!(
            Scopes::from_text("admin:all"),
            Scopes::of([]),
            "unknown names grant nothing"
        );
    }

    #[test]
    fn columns_round_trip_and_fail_closed() {
        let limits = Limits {
            scopes: Some(Scopes::of([Scope::DoisRead])),
            prefixes: Some(vec!["10.5072".into()]),
            networks: Some(vec![
                Network::parse("10.0.0.0/8").unwrap(),
                Network::parse("::1").unwrap(),
            ]),
        };
        let [a, b, c] = limits.to_columns();
        assert_eq!(Limits::from_columns(a.as_deref(), b.as_deref(), c.as_deref()), limits);
        assert!(Limits::default().is_unlimited());
        assert_eq!(Limits::default().to_columns(), [None, None, None]);
        let damaged = Limits::from_columns(None, None, Some("garbage"));
        assert!(!damaged.allows_address(Some(ip("10.0.0.1"))));
        assert!(!limits.allows_address(None));
        assert!(Limits::default().allows_address(None));
    }
}
